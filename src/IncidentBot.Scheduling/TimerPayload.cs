using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using IncidentBot.Core.Incidents;
using Quartz;

namespace IncidentBot.Scheduling;

/// <summary>
/// What an incident timer carries: one payload per <see cref="TimerKind"/>, written to and read from the trigger's
/// <see cref="JobDataMap"/> only here. The map holds strings under the keys and formats the first builds wrote (ticks
/// for times), so a timer set before an upgrade still fires after it.
/// </summary>
public abstract record TimerPayload(long IncidentId, IncidentNumber Number)
{
    private const string KindKey = "kind";
    private const string IncidentIdKey = "incidentId";
    private const string NumberKey = "number";
    private const string DueAtKey = "dueAt";
    private const string MissedKey = "missed";
    private const string LevelKey = "level";
    private const string LoopKey = "loop";
    private const string StartedAtKey = "startedAt";
    private const string ReasonKey = "reason";

    public abstract TimerKind Kind { get; }

    public JobDataMap ToJobData()
    {
        var map = new JobDataMap
        {
            [KindKey] = Kind.ToString(),
            [IncidentIdKey] = IncidentId.ToString(CultureInfo.InvariantCulture),
            [NumberKey] = Int(Number.Value),
        };
        switch (this)
        {
            case UpdateReminderPayload reminder:
                map[DueAtKey] = Time(reminder.DueAt);
                map[MissedKey] = Int(reminder.Missed);
                break;
            case CommanderReminderPayload commander:
                map[MissedKey] = Int(commander.Missed);
                break;
            case EscalationPayload escalation:
                map[LevelKey] = Int(escalation.Level);
                map[LoopKey] = Int(escalation.Loop);
                map[StartedAtKey] = Time(escalation.StartedAt);
                map[ReasonKey] = escalation.Reason;
                break;
        }

        return map;
    }

    /// <summary>Reads a timer's map; false, with what is wrong, when it is not one this build (or an earlier one) wrote.</summary>
    public static bool TryRead(JobDataMap map, [NotNullWhen(true)] out TimerPayload? payload, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(map);
        payload = null;
        if (!Enum.TryParse<TimerKind>(map.GetString(KindKey), ignoreCase: false, out var kind) || !Enum.IsDefined(kind))
        {
            problem = $"unknown timer kind '{map.GetString(KindKey)}'";
            return false;
        }

        if (!TryLong(map, IncidentIdKey, out var incidentId) || !TryInt(map, NumberKey, out var number))
        {
            problem = $"{kind} timer without an incident id or number";
            return false;
        }

        var incident = new IncidentNumber(number);
        payload = kind switch
        {
            TimerKind.Reminder when TryTime(map, DueAtKey, out var dueAt) && TryInt(map, MissedKey, out var missed) =>
                new UpdateReminderPayload(incidentId, incident, dueAt, missed),
            TimerKind.Commander when TryInt(map, MissedKey, out var missed) =>
                new CommanderReminderPayload(incidentId, incident, missed),
            TimerKind.Escalation when TryInt(map, LevelKey, out var level) && TryInt(map, LoopKey, out var loop) && TryTime(map, StartedAtKey, out var startedAt) =>
                new EscalationPayload(incidentId, incident, level, loop, startedAt, map.GetString(ReasonKey) ?? "escalation"),
            _ => null,
        };
        problem = payload is null ? $"{kind} timer of {incident} with missing or malformed fields" : null;
        return payload is not null;
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset value) => value.UtcTicks.ToString(CultureInfo.InvariantCulture);

    private static bool TryInt(JobDataMap map, string key, out int value) =>
        int.TryParse(map.GetString(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool TryLong(JobDataMap map, string key, out long value) =>
        long.TryParse(map.GetString(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out value);

    private static bool TryTime(JobDataMap map, string key, out DateTimeOffset value)
    {
        var ok = long.TryParse(map.GetString(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks;
        value = ok ? new DateTimeOffset(ticks, TimeSpan.Zero) : default;
        return ok;
    }
}

/// <summary>An update reminder due at <see cref="DueAt"/>; <see cref="Missed"/> counts the reminders so far, this one included.</summary>
public sealed record UpdateReminderPayload(long IncidentId, IncidentNumber Number, DateTimeOffset DueAt, int Missed) : TimerPayload(IncidentId, Number)
{
    public override TimerKind Kind => TimerKind.Reminder;
}

/// <summary>A reminder that the incident has no commander, the <see cref="Missed"/>th.</summary>
public sealed record CommanderReminderPayload(long IncidentId, IncidentNumber Number, int Missed) : TimerPayload(IncidentId, Number)
{
    public override TimerKind Kind => TimerKind.Commander;
}

/// <summary>One escalation step: a level in a loop of the run started at <see cref="StartedAt"/>.</summary>
public sealed record EscalationPayload(long IncidentId, IncidentNumber Number, int Level, int Loop, DateTimeOffset StartedAt, string Reason) : TimerPayload(IncidentId, Number)
{
    public override TimerKind Kind => TimerKind.Escalation;
}
