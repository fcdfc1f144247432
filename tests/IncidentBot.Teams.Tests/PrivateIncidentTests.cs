using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// Private incidents and permissions seen from Teams: the Teams leak test (every connector call the bot made while
/// Teams users poke at a private incident from outside its war room) and the refusals.
/// </summary>
public sealed class PrivateIncidentTests : IAsyncLifetime
{
    private const string IncidentsChannel = "19:incidents@thread.tacv2";
    private const string OpsChannel = "19:ops@thread.tacv2";
    private const string Title = "Payroll export leaked";
    private const string Secret = "bucket payroll-2026 is world readable";

    private readonly SqliteTestDatabase _database = new();
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _world = await TeamsWorld.StartAsync(_database, settings: new Dictionary<string, string?> { ["Teams:IncidentsChannelId"] = IncidentsChannel });
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _database.DisposeAsync();
    }

    private async Task<string> SayAsync(string conversation, string text)
    {
        var before = _world.Connector.Calls.Count;
        await _world.PostAsync(_world.Activities.Command(conversation, TeamsWorld.Ann, text));
        var calls = await _world.Connector.WaitForAsync(c => c.Count > before && c.Skip(before).Any(x => x.ConversationId == conversation), what: $"the answer to `{text}`");
        return string.Join("\n", calls.Skip(before).Where(x => x.ConversationId == conversation).Select(x => x.Body?.ToJsonString()));
    }

    [Fact]
    public async Task LeakTest_PrivateIncidentPokedFromATeamsChannel_NoCallNamesItOrItsWarRoom()
    {
        // Declared privately from Slack: its war room is a private Slack channel.
        var service = _world.Services.GetRequiredService<IncidentService>();
        var room = new ChatSpace("slack", "CPRIVATE1");
        var ann = new Person("slack", "UANN", "Ann");
        await service.DeclareAsync(new DeclareRequest(Title, Severity.Sev1) { IsPrivate = true, WarRoom = room }, new Actor(ann), default);
        await service.AddNoteAsync(new IncidentNumber(1), Secret, new Actor(ann, room), default);

        var answers = new List<string>();
        foreach (var text in new[] { "list", "timeline INC-1", "postmortem INC-1", "resolve INC-1", "ack INC-1", "note INC-1 hi", "link INC-1", "private INC-1" })
        {
            answers.Add(await SayAsync(OpsChannel, text));
        }

        Assert.Contains(answers, a => a.Contains("INC-1 is private", StringComparison.Ordinal));
        Assert.All(_world.Connector.Calls, c =>
        {
            var body = c.Body?.ToJsonString() ?? "";
            Assert.DoesNotContain("Payroll", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("payroll-2026", body, StringComparison.Ordinal);
            Assert.DoesNotContain("CPRIVATE1", body, StringComparison.Ordinal);
        });
        var incident = await _world.IncidentAsync(1);
        Assert.Null(incident.AcknowledgedAt);
        Assert.False(incident.IsResolved);
        Assert.Equal([room], incident.WarRooms);
    }

    [Fact]
    public async Task DeclarePrivate_InTeams_RefusedUntilPrivateRoomsExistHere()
    {
        var answer = await SayAsync(OpsChannel, $"declare private sev1 {Title}");

        Assert.Contains("Private incidents are not available in Teams yet", answer, StringComparison.Ordinal);
        Assert.Null(await _world.Store.GetAsync(new IncidentNumber(1), default));
        Assert.DoesNotContain(_world.Connector.Calls, c => (c.Body?.ToJsonString() ?? "").Contains("Payroll", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeclarePrivateForm_InTeams_RefusedUntilPrivateRoomsExistHere()
    {
        var answer = await SayAsync(OpsChannel, "declare private");

        Assert.Contains("Private incidents are not available in Teams yet", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(_world.Connector.Calls, c => (c.Body?.ToJsonString() ?? "").Contains("\"Input.Text\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Private_TypedInATeamsWarRoom_RefusedAndTheIncidentStaysPublic()
    {
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        var thread = (await WaitForWarRoomAsync()).WarRooms.Single().Channel;

        var answer = await SayAsync(thread, "private");

        Assert.Contains("Private incidents are not available in Teams yet", answer, StringComparison.Ordinal);
        Assert.False((await _world.IncidentAsync(1)).IsPrivate);
    }

    /// <summary>
    /// A Slack incident with a Teams conversation linked turns private (typed in its Slack war room): the Teams room, seen
    /// beyond the people named, gets Core's pointer without the title and hears nothing more of the incident.
    /// </summary>
    [Fact]
    public async Task MadePrivateElsewhere_LinkedTeamsRoom_GetsThePointerThenNothing()
    {
        await SayAsync(OpsChannel, "help"); // the bot knows a conversation once it was spoken to there
        var service = _world.Services.GetRequiredService<IncidentService>();
        var slackRoom = new ChatSpace("slack", "CPUBLIC1");
        var ann = new Person("slack", "UANN", "Ann");
        await service.DeclareAsync(new DeclareRequest(Title, Severity.Sev2) { WarRoom = slackRoom }, new Actor(ann), default);
        var linkedAt = _world.Connector.Calls.Count;
        await service.LinkWarRoomAsync(new IncidentNumber(1), new ChatSpace(TeamsIds.Platform, OpsChannel), new Actor(ann, slackRoom), default);
        await _world.Connector.WaitForAsync(c => c.Skip(linkedAt).Any(x => x.ConversationId == OpsChannel), what: "the card in the linked Teams room");
        var before = _world.Connector.Calls.Count;

        await service.MakePrivateAsync(new IncidentNumber(1), new Actor(ann, slackRoom), default);
        var calls = await _world.Connector.WaitForAsync(
            c => c.Skip(before).Any(x => x.ConversationId == OpsChannel && (x.Body?.ToJsonString() ?? "").Contains("is private now", StringComparison.Ordinal)),
            what: "the pointer in the Teams room");
        await service.PostUpdateAsync(new IncidentNumber(1), Secret, new Actor(ann, slackRoom), default);
        await WaitForTeamsLaneAsync("update_posted");

        var after = _world.Connector.Calls.Skip(before).ToList();
        Assert.All(after, c => Assert.DoesNotContain("Payroll", c.Body?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(after, c => (c.Body?.ToJsonString() ?? "").Contains("payroll-2026", StringComparison.Ordinal));
        Assert.Single(calls.Skip(before), c => c.ConversationId == OpsChannel && (c.Body?.ToJsonString() ?? "").Contains("is private now", StringComparison.Ordinal));
    }

    /// <summary>Waits until the Teams lane has handled an event of <paramref name="eventType"/> (delivered, or skipped).</summary>
    private async Task WaitForTeamsLaneAsync(string eventType)
    {
        for (var i = 0; i < 200; i++)
        {
            await using var connection = await _world.Services.GetRequiredService<IncidentBot.Storage.IDbConnectionFactory>().OpenConnectionAsync(default);
            var done = await Dapper.SqlMapper.ExecuteScalarAsync<long>(
                connection,
                "SELECT count(*) FROM outbox_deliveries d JOIN outbox o ON o.id = d.message_id WHERE d.handler = 'teams' AND d.done_at IS NOT NULL AND o.event_type = @EventType",
                new { EventType = eventType });
            if (done > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The Teams lane never handled {eventType}.");
    }

    [Fact]
    public async Task ResolveFromAnotherChannel_PublicIncidentWithAWarRoom_Refused()
    {
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the war-room thread");
        var incident = await WaitForWarRoomAsync();

        var answer = await SayAsync(OpsChannel, "resolve INC-1");

        Assert.Contains("INC-1 is changed only in its war room.", answer, StringComparison.Ordinal);
        Assert.False((await _world.IncidentAsync(1)).IsResolved);
        Assert.NotEmpty(incident.WarRooms);
    }

    private async Task<Incident> WaitForWarRoomAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            var incident = await _world.IncidentAsync(1);
            if (incident.WarRooms.Count > 0)
            {
                return incident;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("INC-1 never got its war-room thread.");
    }
}
