using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

public sealed class SqliteScenarioTests : ScenarioTests<SqliteTestDatabase>;

public sealed class PostgresScenarioTests : ScenarioTests<PostgresTestDatabase>;

/// <summary>
/// The whole Teams flow through the real host, on each store: declare → card in a new incidents-channel thread →
/// roles via the card's people picker → messages captured → pins by reaction and by message action → a linked
/// meeting chat's events → update → resolve, with the card updated in place for everyone.
/// </summary>
public abstract class ScenarioTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const string IncidentsChannel = "19:incidents@thread.tacv2";
    private const string OpsChannel = "19:ops@thread.tacv2";
    private const string MeetingChat = "19:meeting_bridge@thread.v2";
    private const string MeetingId = "MCMjMCMjbWVldGluZy1icmlkZ2U=";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(5);

    private readonly TDatabase _database = new();
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _world = await StartWorldAsync();
    }

    private async Task<TeamsWorld> StartWorldAsync(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Teams:IncidentsChannelId"] = IncidentsChannel,
            ["Outbox:DeliveryTimeout"] = DeliveryTimeout.ToString(),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var world = await TeamsWorld.StartAsync(_database, settings: settings);
        world.Connector.AddMember(TeamsWorld.Bo.Mri, TeamsWorld.Bo.AadObjectId, TeamsWorld.Bo.Name);
        world.Connector.AddMember(TeamsWorld.Cy.Mri, TeamsWorld.Cy.AadObjectId, TeamsWorld.Cy.Name);
        return world;
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task FullScenario_DeclareToResolve_KeepsTeamsAndTimelineInStep()
    {
        var world = _world;
        var activities = world.Activities;

        // Declare in the ops channel: the war room becomes a new thread in the incidents channel, posted as the card.
        var declare = activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Checkout is down");
        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(declare)).StatusCode);
        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the war-room thread");
        var create = calls.Single(x => x.Operation == ConnectorOperation.CreateConversation);
        Assert.Equal(IncidentsChannel, (string?)create.Body!["channelData"]!["channel"]!["id"]);
        Assert.True((bool)create.Body["isGroup"]!);
        Assert.Equal(activities.BotId, (string?)create.Body["bot"]!["id"]);
        Assert.Contains("Checkout is down", create.Card!.ToJsonString(), StringComparison.Ordinal);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == (string?)declare["id"]
            && x.Text!.Contains("INC-1 declared (SEV2)", StringComparison.Ordinal)), what: "the declare answer");

        var incident = await WaitAsync(async () => await world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var thread = Assert.Single(incident.WarRooms).Channel;
        Assert.StartsWith(IncidentsChannel + ";messageid=", thread, StringComparison.Ordinal);
        var cardActivityId = thread[(thread.IndexOf('=', StringComparison.Ordinal) + 1)..];
        Assert.Equal(new Person("teams", TeamsWorld.Ann.AadObjectId, "Ann"), incident.DeclaredBy);

        // Roles through the card: the people picker submits Bo's Entra object id.
        var assign = activities.CardAction(thread, TeamsWorld.Ann, "assignRole",
            new JsonObject { ["verb"] = "assignRole", ["incident"] = "INC-1", ["role"] = "ic", ["user"] = TeamsWorld.Bo.AadObjectId }, cardActivityId);
        var invoke = await world.PostInvokeAsync(assign);
        Assert.Equal(200, (int)invoke["statusCode"]!);
        Assert.Equal("application/vnd.microsoft.card.adaptive", (string?)invoke["type"]);
        Assert.Contains("\"Bo\"", invoke["value"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(new Person("teams", TeamsWorld.Bo.AadObjectId, "Bo"), (await world.IncidentAsync(1)).RoleHolder(IncidentRole.Commander));
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread
            && x.ActivityId == cardActivityId && x.Card!.ToJsonString().Contains("\"Bo\"", StringComparison.Ordinal)), what: "the card updated for everyone");

        // A mention works too: @IncidentBot role comms @Cy.
        await world.PostAsync(activities.Command(thread, TeamsWorld.Ann, "role comms {0}", mentioned: TeamsWorld.Cy));
        Assert.Equal(new Person("teams", TeamsWorld.Cy.AadObjectId, "Cy"), (await WaitAsync(() => world.IncidentAsync(1), i => i.RoleHolder(IncidentRole.Comms) is not null)).RoleHolder(IncidentRole.Comms));

        // War-room messages are captured without a mention.
        var rollback = activities.Message(thread, TeamsWorld.Cy, "Rolling back deploy 42");
        await world.PostAsync(rollback);
        var chatter = activities.Message(thread, TeamsWorld.Bo, "Error rate still <b>high</b> &amp; climbing");
        await world.PostAsync(chatter);
        var timeline = await world.TimelineAsync(1);
        var captured = timeline.Single(e => e.Source?.MessageId == (string?)rollback["id"]);
        Assert.Equal(TimelineKind.Message, captured.Kind);
        Assert.Equal("Rolling back deploy 42", captured.Text);
        Assert.Equal(new MessageRef("teams", thread, (string)rollback["id"]!), captured.Source);
        Assert.Equal("Error rate still high & climbing", timeline.Single(e => e.Source?.MessageId == (string?)chatter["id"]).Text);

        // Pin by reaction (the configured pushpin); a classic "like" pins nothing; removing the pushpin unpins.
        await world.PostAsync(activities.Reaction(thread, TeamsWorld.Ann, (string)chatter["id"]!, "like"));
        Assert.False((await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == (string?)chatter["id"]).Pinned);
        await world.PostAsync(activities.Reaction(thread, TeamsWorld.Ann, (string)rollback["id"]!, "1f4cc_pushpin"));
        Assert.True((await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == (string?)rollback["id"]).Pinned);
        await world.PostAsync(activities.Reaction(thread, TeamsWorld.Ann, (string)rollback["id"]!, "1f4cc_pushpin", added: false));
        Assert.False((await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == (string?)rollback["id"]).Pinned);
        await world.PostAsync(activities.Reaction(thread, TeamsWorld.Ann, (string)rollback["id"]!, "1f4cc_pushpin"));

        // Pin by the message action, on a message the bot never saw: captured pinned with its own time and author.
        var postedAt = DateTimeOffset.UtcNow.AddMinutes(-3);
        var action = await world.PostInvokeAsync(activities.MessageAction(thread, TeamsWorld.Ann, "addToTimeline", "1700000999000", TeamsWorld.Bo, "<p>Root cause: expired <b>TLS</b> cert</p>", postedAt));
        Assert.Contains("INC-1 timeline", (string?)action["task"]!["value"], StringComparison.Ordinal);
        var keyEvent = (await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == "1700000999000");
        Assert.True(keyEvent.Pinned);
        Assert.Equal("Root cause: expired TLS cert", keyEvent.Text);
        Assert.Equal("Bo", keyEvent.Author?.Name);
        Assert.Equal(postedAt.ToUnixTimeSeconds(), keyEvent.OccurredAt.ToUnixTimeSeconds());

        // Edits and deletes follow the message.
        await world.PostAsync(activities.MessageUpdate(thread, TeamsWorld.Bo, (string)chatter["id"]!, "Error rate back to normal"));
        Assert.Equal("Error rate back to normal", (await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == (string?)chatter["id"]).Text);
        await world.PostAsync(activities.MessageDelete(thread, TeamsWorld.Bo, (string)chatter["id"]!));
        Assert.DoesNotContain(await world.TimelineAsync(1), e => e.Source?.MessageId == (string?)chatter["id"]);

        // The meeting chat is linked: it gets its own card, and the meeting's events go on the timeline.
        var link = activities.Command(MeetingChat, TeamsWorld.Ann, "link INC-1", "groupChat", MeetingId);
        await world.PostAsync(link);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == MeetingChat && x.Card is not null), what: "the card in the meeting chat");
        await world.PostAsync(activities.MeetingEvent(MeetingChat, TeamsWorld.Ann, MeetingId, "application/vnd.microsoft.meetingStart",
            new JsonObject { ["Id"] = MeetingId, ["Title"] = "INC-1 bridge", ["MeetingType"] = "Scheduled", ["StartTime"] = DateTimeOffset.UtcNow.ToString("O") }));
        await world.PostAsync(activities.MeetingEvent(MeetingChat, TeamsWorld.Ann, MeetingId, "application/vnd.microsoft.meetingParticipantJoin",
            new JsonObject { ["members"] = new JsonArray(new JsonObject { ["user"] = new JsonObject { ["id"] = TeamsWorld.Cy.Mri, ["name"] = "Cy" }, ["meeting"] = new JsonObject { ["inMeeting"] = true, ["role"] = "Attendee" } }) }));
        var meeting = (await world.TimelineAsync(1)).Where(e => e.Kind == TimelineKind.Meeting).Select(e => e.Text).ToList();
        Assert.Equal(["Meeting started: INC-1 bridge", "Cy joined the meeting"], meeting);

        // A status update from the thread: the timeline has it, the other war room (meeting chat) is told.
        await world.PostAsync(activities.Command(thread, TeamsWorld.Bo, "update Rolled back; error rate falling"));
        await world.Connector.WaitForAsync(c => c.Any(x => x.ConversationId == MeetingChat && x.Text?.Contains("Status update from Bo: Rolled back; error rate falling", StringComparison.Ordinal) == true),
            what: "the update announced in the meeting chat");
        Assert.Contains(await world.TimelineAsync(1), e => e.Kind == TimelineKind.Update && e.Text == "Rolled back; error rate falling");

        // Resolve through the card.
        var resolve = await world.PostInvokeAsync(activities.CardAction(thread, TeamsWorld.Bo, "resolve",
            new JsonObject { ["verb"] = "resolve", ["incident"] = "INC-1", ["summary"] = "Cert renewed" }, cardActivityId));
        Assert.Contains("resolved", invokeText(resolve), StringComparison.Ordinal);
        var resolved = await world.IncidentAsync(1);
        Assert.Equal(IncidentStatus.Resolved, resolved.Status);
        Assert.Equal("Cert renewed", resolved.Summary);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread && x.Card!.ToJsonString().Contains("resolved", StringComparison.Ordinal)),
            what: "the resolved card in the thread");
        await world.Connector.WaitForAsync(c => c.Any(x => x.ConversationId == MeetingChat && x.Text?.Contains("INC-1 resolved by Bo: Cert renewed", StringComparison.Ordinal) == true),
            what: "the resolution announced in the meeting chat");

        // Every outbound call carried a token from the token endpoint, fetched once and cached.
        Assert.All(world.Connector.Calls, c => Assert.StartsWith("Bearer " + FakeBotFrameworkIssuer.IssuedTokenPrefix, c.Authorization, StringComparison.Ordinal));
        Assert.Single(world.Issuer.TokenRequests);

        static string invokeText(JsonObject response) => response["value"]!.ToJsonString();
    }

    [Fact]
    public async Task Bridge_NoMeetingOrganizer_SaysBridgesAreOffAndPromisesNone()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Quiet pager"));
        var thread = (await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1)).WarRooms[0].Channel;

        await world.PostAsync(world.Activities.Command(thread, TeamsWorld.Bo, "bridge"));

        await world.Connector.WaitForAsync(
            c => c.Any(x => x.ConversationId == thread && x.Text?.Contains(CommandDispatcher.BridgesOff, StringComparison.Ordinal) == true),
            what: "the answer that bridges are off");
        Assert.DoesNotContain(await world.TimelineAsync(1), e => e.Text.Contains("bridge", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Redelivery_SameActivities_NothingDuplicated()
    {
        var world = _world;
        var declare = world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Search latency");
        await world.PostAsync(declare);
        var thread = (await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1)).WarRooms[0].Channel;

        var message = world.Activities.Message(thread, TeamsWorld.Cy, "Cache hit ratio dropped");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(declare)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(message)).StatusCode);
        }

        Assert.Single(await world.Store.ListAsync(new Core.Application.IncidentQuery(), default));
        Assert.Single(await world.TimelineAsync(1), e => e.Kind == TimelineKind.Message);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Reply), what: "the declare answer");
        await Task.Delay(500);
        Assert.Single(world.Connector.Calls, x => x.Operation == ConnectorOperation.CreateConversation);
        Assert.Single(world.Connector.Calls, x => x.Operation == ConnectorOperation.Reply && x.ActivityId == (string?)declare["id"]);
    }

    [Fact]
    public async Task Declare_RecordingTheNewThreadFailsOnce_LinkedAtOnceAndTheRetryMakesNoSecondThread()
    {
        var world = _world;
        // Teams made the thread, but the bot's record of its card fails once (a database hiccup, or a crash there).
        await ExecuteAsync(_database.Provider == IncidentBot.Storage.DatabaseProvider.Postgres
            ? """
              CREATE FUNCTION refuse_card() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;
              CREATE TRIGGER refuse_card BEFORE INSERT ON teams_cards FOR EACH ROW EXECUTE FUNCTION refuse_card();
              """
            : "CREATE TRIGGER refuse_card BEFORE INSERT ON teams_cards BEGIN SELECT RAISE(ABORT, 'injected fault'); END;");
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Card store hiccup"));

        // Linked the moment Teams answered, before anything else was recorded: replies there are captured at once.
        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var thread = Assert.Single(incident.WarRooms).Channel;
        var reply = world.Activities.Message(thread, TeamsWorld.Cy, "First reply in the new thread");
        await world.PostAsync(reply);
        Assert.Contains(await world.TimelineAsync(1), e => e.Source?.MessageId == (string?)reply["id"]);
        Assert.True(await WaitAsync(() => QueryScalarAsync<bool>("SELECT count(*) > 0 FROM outbox_deliveries WHERE error LIKE '%injected fault%'"), failed => failed));
        await ExecuteAsync("DROP TRIGGER refuse_card" + (_database.Provider == IncidentBot.Storage.DatabaseProvider.Postgres ? " ON teams_cards" : ""));

        // The retry finds the linked thread and records its card instead of opening a second thread.
        Assert.Equal(1L, await WaitAsync(() => QueryScalarAsync<long>("SELECT count(*) FROM teams_cards"), n => n == 1));
        Assert.Single(world.Connector.Calls, x => x.Operation == ConnectorOperation.CreateConversation);
        Assert.Equal(thread, Assert.Single((await world.IncidentAsync(1)).WarRooms).Channel);
    }

    [Fact]
    public async Task ConnectorThrottles_429ThenSuccess_RetriesAfterRetryAfter()
    {
        var world = _world;
        world.Connector.FailNext(1, 429, TimeSpan.FromSeconds(1), ConnectorOperation.CreateConversation);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Throttled path"));

        var calls = await world.Connector.WaitForAsync(c => c.Count(x => x.Operation == ConnectorOperation.CreateConversation) == 2, what: "the retried thread creation");
        var attempts = calls.Where(x => x.Operation == ConnectorOperation.CreateConversation).ToList();
        Assert.True(attempts[1].ReceivedAt - attempts[0].ReceivedAt >= TimeSpan.FromMilliseconds(900), "the retry came before Retry-After");
        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        Assert.StartsWith(IncidentsChannel, incident.WarRooms[0].Channel, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectorThrottlesForAnHour_DeliveryCutOffAtItsTimeoutAndRetriedInsteadOfWaiting()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Slow connector"));
        var thread = (await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1)).WarRooms[0].Channel;
        await WaitAsync(() => QueryScalarAsync<long>("SELECT count(*) FROM teams_cards"), n => n == 1);
        // Retried within the call up to Teams:MaxRetryDelay (a minute) per try: far longer than a delivery may take.
        world.Connector.FailNext(1, 429, TimeSpan.FromHours(1), ConnectorOperation.Update);

        await world.PostAsync(world.Activities.Command(thread, TeamsWorld.Ann, "status identified"));

        var calls = await world.Connector.WaitForAsync(
            c => c.Any(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread && x.Card!.ToJsonString().Contains("identified", StringComparison.Ordinal))
                && c.Count(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread) >= 2,
            DeliveryTimeout + TimeSpan.FromSeconds(10),
            "the card update retried by the outbox after the throttled attempt was cut off");
        var updates = calls.Where(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread).ToList();
        Assert.True(updates[1].ReceivedAt - updates[0].ReceivedAt < TimeSpan.FromSeconds(30), "the retry waited out Retry-After");
    }

    [Fact]
    public async Task Declare_WithoutTitle_AnswersWithDeclareFormCard()
    {
        var world = _world;
        var declare = world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare");
        await world.PostAsync(declare);
        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.ActivityId == (string?)declare["id"] && x.Card is not null), what: "the declare form");
        var form = calls.Single(x => x.ActivityId == (string?)declare["id"]).Card!;
        Assert.Contains("\"verb\":\"declare\"", form.ToJsonString(), StringComparison.Ordinal);

        var submitted = await world.PostInvokeAsync(world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "declare",
            new JsonObject { ["verb"] = "declare", ["title"] = "Payments failing", ["severity"] = "sev1" }, "form-activity"));
        Assert.Equal("application/vnd.microsoft.card.adaptive", (string?)submitted["type"]);
        var incident = await world.IncidentAsync(1);
        Assert.Equal(Severity.Sev1, incident.Severity);
        Assert.Equal("Payments failing", incident.Title);
    }

    [Fact]
    public async Task Declare_InMeetingChatWithIncidentsChannel_LinksMeetingChatAndOpensThread()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(MeetingChat, TeamsWorld.Ann, "declare sev2 Bridge outage", "groupChat", MeetingId));

        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 2);
        Assert.Contains(new ChatSpace("teams", MeetingChat), incident.WarRooms);
        Assert.Contains(incident.WarRooms, r => r.Channel.StartsWith(IncidentsChannel + ";messageid=", StringComparison.Ordinal));
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == MeetingChat && x.Card is not null),
            what: "the card in the meeting chat");

        await world.PostAsync(world.Activities.MeetingEvent(MeetingChat, TeamsWorld.Ann, MeetingId, "application/vnd.microsoft.meetingEnd",
            new JsonObject { ["Id"] = MeetingId, ["Title"] = "Bridge", ["EndTime"] = DateTimeOffset.UtcNow.ToString("O") }));
        Assert.Contains(await world.TimelineAsync(1), e => e.Kind == TimelineKind.Meeting && e.Text == "Meeting ended: Bridge");
    }

    [Fact]
    public async Task ActionSubmitFallback_AcknowledgeFromOldClient_AcknowledgesAndAnswers()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Old client"));
        var thread = (await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1)).WarRooms[0].Channel;

        var submit = world.Activities.Base("message", thread, TeamsWorld.Bo);
        submit["value"] = new JsonObject { ["verb"] = "ack", ["incident"] = "INC-1" };
        submit["replyToId"] = "card-activity";
        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(submit)).StatusCode);

        Assert.NotNull((await world.IncidentAsync(1)).AcknowledgedAt);
        await world.Connector.WaitForAsync(c => c.Any(x => x.ActivityId == (string?)submit["id"] && x.Text?.Contains("acknowledged", StringComparison.OrdinalIgnoreCase) == true),
            what: "the answer to the Action.Submit");
    }

    [Fact]
    public async Task CardAction_RuleBroken_AnswersWithMessageNotError()
    {
        var world = _world;
        var response = await world.PostInvokeAsync(world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "ack",
            new JsonObject { ["verb"] = "ack", ["incident"] = "INC-77" }, "some-card"));
        Assert.Equal("application/vnd.microsoft.activity.message", (string?)response["type"]);
        Assert.Contains("INC-77 does not exist", (string?)response["value"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnoozeAndActionItem_FromOutsideTheWarRoom_AnnouncedInTheWarRoomAsInSlack()
    {
        // Changes from outside the war room are refused by default (Permissions:ChangesOnlyInWarRoom); this is the setting off.
        await _world.DisposeAsync();
        _world = await StartWorldAsync(("Permissions:ChangesOnlyInWarRoom", "false"));
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Search is slow"));
        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var thread = incident.WarRooms[0].Channel;

        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "snooze INC-1 30"));
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "action INC-1 Add an index on search terms"));

        await world.Connector.WaitForAsync(
            c => c.Any(x => x.ConversationId == thread && x.Text?.Contains("snoozed the update reminder until", StringComparison.Ordinal) == true)
                && c.Any(x => x.ConversationId == thread && x.Text?.Contains("Action item: Add an index on search terms", StringComparison.Ordinal) == true),
            what: "the snooze and the action item told in the war-room thread");
    }

    [Fact]
    public async Task ReminderAndEscalation_DeliveredTwice_AnnouncedOnceInEachWarRoom()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev1 Database failover"));
        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var thread = incident.WarRooms[0].Channel;
        // The thread is linked first; opening it is done once its card is recorded (later events wait for that in their lane).
        await WaitAsync(() => QueryScalarAsync<long>("SELECT count(*) FROM teams_cards"), n => n == 1);
        var handler = world.Services.GetServices<IIncidentEventHandler>().Single(h => h.Name == "teams");

        var reminder = new UpdateReminderDue(DateTimeOffset.UtcNow, 1, new Person("teams", TeamsWorld.Bo.AadObjectId, "Bo"), null)
        {
            IncidentId = incident.Id,
            Number = incident.Number,
            OccurredAt = DateTimeOffset.UtcNow,
        };
        var escalated = new IncidentEscalated(2, ["pagerduty"], "nobody acknowledged within 10 min")
        {
            IncidentId = incident.Id,
            Number = incident.Number,
            OccurredAt = DateTimeOffset.UtcNow,
        };
        foreach (var incidentEvent in new IncidentEvent[] { reminder, reminder, escalated, escalated })
        {
            await handler.HandleAsync(incidentEvent, default);
        }

        var sent = world.Connector.Calls.Where(c => c.Operation == ConnectorOperation.Send && c.ConversationId == thread).ToList();
        Assert.Single(sent, c => c.Card is { } card && CardText(card).Contains("a status update is overdue", StringComparison.Ordinal) && CardText(card).Contains("<at>Bo</at>", StringComparison.Ordinal));
        Assert.Single(sent, c => c.Text?.Contains("escalated to level 2 (pagerduty)", StringComparison.Ordinal) == true);
    }

    private static string CardText(JsonObject card) => string.Join('\n', card["body"]!.AsArray().Select(b => (string?)b?["text"]));

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = await _world.Services.GetRequiredService<IncidentBot.Storage.IDbConnectionFactory>().OpenConnectionAsync(default);
        await Dapper.SqlMapper.ExecuteAsync(connection, sql);
    }

    private async Task<T> QueryScalarAsync<T>(string sql)
    {
        await using var connection = await _world.Services.GetRequiredService<IncidentBot.Storage.IDbConnectionFactory>().OpenConnectionAsync(default);
        return (await Dapper.SqlMapper.ExecuteScalarAsync<T>(connection, sql))!;
    }

    private static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var value = await read();
            if (condition(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
