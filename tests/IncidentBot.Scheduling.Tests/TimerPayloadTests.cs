using IncidentBot.Core.Incidents;
using Quartz;

namespace IncidentBot.Scheduling.Tests;

public sealed class TimerPayloadTests
{
    private static readonly IncidentNumber Number = new(42);
    private static readonly DateTimeOffset At = new(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);

    /// <summary>Maps exactly as the builds before the typed payload wrote them (strings; times as UTC ticks).</summary>
    public static TheoryData<Dictionary<string, string>, TimerPayload> EarlierMaps() => new()
    {
        {
            new() { ["kind"] = "Reminder", ["incidentId"] = "7", ["number"] = "42", ["dueAt"] = At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), ["missed"] = "2" },
            new UpdateReminderPayload(7, Number, At, 2)
        },
        {
            new() { ["kind"] = "Commander", ["incidentId"] = "7", ["number"] = "42", ["missed"] = "1" },
            new CommanderReminderPayload(7, Number, 1)
        },
        {
            new() { ["kind"] = "Escalation", ["incidentId"] = "7", ["number"] = "42", ["level"] = "2", ["loop"] = "1", ["startedAt"] = At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), ["reason"] = "declared at SEV1" },
            new EscalationPayload(7, Number, 2, 1, At, "declared at SEV1")
        },
        {
            new() { ["kind"] = "Escalation", ["incidentId"] = "7", ["number"] = "42", ["level"] = "1", ["loop"] = "0", ["startedAt"] = At.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            new EscalationPayload(7, Number, 1, 0, At, "escalation")
        },
    };

    [Theory]
    [MemberData(nameof(EarlierMaps))]
    public void TryRead_MapAsEarlierBuildsWroteIt_ReadsTheSamePayload(Dictionary<string, string> written, TimerPayload expected)
    {
        var map = new JobDataMap();
        foreach (var (key, value) in written)
        {
            map[key] = value;
        }

        Assert.True(TimerPayload.TryRead(map, out var payload, out var problem), problem);
        Assert.Equal(expected, payload);
        // And this build writes every key an earlier one wrote, in the same format.
        var writtenNow = expected.ToJobData();
        Assert.All(written, e => Assert.Equal(e.Value, writtenNow.GetString(e.Key)));
    }

    [Theory]
    [InlineData(null, "7", "42", "unknown timer kind ''")]
    [InlineData("Nap", "7", "42", "unknown timer kind 'Nap'")]
    [InlineData("3", "7", "42", "unknown timer kind '3'")]
    [InlineData("Reminder", "x", "42", "Reminder timer without an incident id or number")]
    [InlineData("Reminder", "7", "42", "Reminder timer of INC-42 with missing or malformed fields")]
    [InlineData("Commander", "7", null, "Commander timer without an incident id or number")]
    public void TryRead_BrokenMap_FalseSayingWhat(string? kind, string? incidentId, string? number, string expected)
    {
        var map = new JobDataMap();
        foreach (var (key, value) in new[] { ("kind", kind), ("incidentId", incidentId), ("number", number) })
        {
            if (value is not null)
            {
                map[key] = value;
            }
        }

        Assert.False(TimerPayload.TryRead(map, out var payload, out var problem));
        Assert.Null(payload);
        Assert.Equal(expected, problem);
    }
}
