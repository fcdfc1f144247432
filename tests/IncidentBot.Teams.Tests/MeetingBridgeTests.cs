using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

public sealed class SqliteMeetingBridgeTests : MeetingBridgeTests<SqliteTestDatabase>;

public sealed class PostgresMeetingBridgeTests : MeetingBridgeTests<PostgresTestDatabase>;

/// <summary>
/// <c>Teams:MeetingOrganizerId</c> through the real host on each store, with the fake Graph and Bot Connector on
/// loopback: a meeting per incident (its link on the card, posted in the war room, its chat a war room), <c>bridge</c>
/// for a new one, failures visible, and the transcript imported once Graph has it.
/// </summary>
public abstract class MeetingBridgeTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const string Organizer = "5f0c2d1e-0000-4000-8000-0000000000aa";
    private const string IncidentsChannel = "19:incidents@thread.tacv2";
    private const string OpsChannel = "19:ops@thread.tacv2";

    private readonly TDatabase _database = new();
    private FakeGraph _graph = null!;
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _graph = await FakeGraph.StartAsync();
        _world = await TeamsWorld.StartAsync(_database, settings: new Dictionary<string, string?>
        {
            ["Teams:IncidentsChannelId"] = IncidentsChannel,
            ["Teams:MeetingOrganizerId"] = Organizer,
            ["Teams:TranscriptMaxEntries"] = "3",
            ["Teams:GraphBaseUrl"] = _graph.GraphBaseUrl,
            ["Teams:GraphTokenEndpoint"] = _graph.TokenEndpoint,
            ["Teams:MaxRetryDelay"] = "00:00:01",
        });
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _graph.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Declare_OrganizerSet_MeetingWithLinkOnCardAndInWarRoomAndItsChatCaptured()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev1 Checkout is down"));

        var incident = await IncidentWithRoomsAsync(2);
        var meeting = Assert.Single(_graph.Meetings);
        Assert.Equal("INC-1 Checkout is down", meeting.Subject);
        Assert.Equal(Organizer, meeting.OrganizerId);
        Assert.Contains(_graph.Calls, c => c.Path == $"/v1.0/users/{Organizer}/onlineMeetings/createOrGet" && c.Status == 201);
        Assert.Contains(new ChatSpace("teams", meeting.ThreadId), incident.WarRooms);
        var thread = incident.WarRooms.Single(r => r.Channel.StartsWith(IncidentsChannel, StringComparison.Ordinal)).Channel;

        // The card in the thread gains a "Join bridge" button; the link is posted there and recorded.
        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Update && x.Card?.ToJsonString().Contains(meeting.JoinUrl, StringComparison.Ordinal) == true)
            && c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == thread && x.Text?.Contains(meeting.JoinUrl, StringComparison.Ordinal) == true),
            what: "the join link on the card and in the thread");
        var join = calls.Last(x => x.Operation == ConnectorOperation.Update).Card!.ToJsonString();
        Assert.Contains("Join bridge", join, StringComparison.Ordinal);
        Assert.Contains(await world.TimelineAsync(1), e => e.Kind == TimelineKind.System && e.Text == $"Meeting bridge for INC-1: {meeting.JoinUrl}");

        // What is said in the meeting chat, and the meeting's start and joins, reach the timeline.
        await world.PostAsync(world.Activities.Message(meeting.ThreadId, TeamsWorld.Cy, "On the bridge, looking at payments", "groupChat"));
        await world.PostAsync(world.Activities.MeetingEvent(meeting.ThreadId, TeamsWorld.Ann, "MCMjbWVldGluZw==", "application/vnd.microsoft.meetingStart",
            new JsonObject { ["Title"] = meeting.Subject, ["MeetingType"] = "Scheduled" }));
        var timeline = await world.WaitForTimelineAsync(1, t => t.Any(e => e.Kind == TimelineKind.Meeting));
        Assert.Contains(timeline, e => e.Kind == TimelineKind.Message && e.Text == "On the bridge, looking at payments" && e.Source?.Channel == meeting.ThreadId);
        Assert.Contains(timeline, e => e.Kind == TimelineKind.Meeting && e.Text == "Meeting started: INC-1 Checkout is down");
    }

    [Fact]
    public async Task Bridge_InTheWarRoom_NewMeetingLinkedCardAndThreadShowTheNewLink()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Search slow"));
        var incident = await IncidentWithRoomsAsync(2);
        var thread = incident.WarRooms.Single(r => r.Channel.StartsWith(IncidentsChannel, StringComparison.Ordinal)).Channel;
        var first = Assert.Single(_graph.Meetings);

        await world.PostAsync(world.Activities.Command(thread, TeamsWorld.Bo, "bridge"));

        incident = await IncidentWithRoomsAsync(3);
        Assert.Equal(2, _graph.Meetings.Count);
        var second = _graph.Meetings.Single(m => m.Id != first.Id);
        Assert.Contains(new ChatSpace("teams", second.ThreadId), incident.WarRooms);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Update && x.Card?.ToJsonString().Contains(second.JoinUrl, StringComparison.Ordinal) == true)
            && c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == thread && x.Text?.Contains(second.JoinUrl, StringComparison.Ordinal) == true),
            what: "the new link on the card and in the thread");
        var timeline = await world.TimelineAsync(1);
        Assert.Contains(timeline, e => e.Text == "Bo asked for a new meeting bridge.");
        Assert.Contains(timeline, e => e.Text == $"Meeting bridge for INC-1: {second.JoinUrl}");
    }

    [Fact]
    public async Task Declare_MeetingMadeButItsAnswerLost_RetryGetsTheSameMeeting()
    {
        var world = _world;
        _graph.LoseNextCreateAnswer();
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Lost answer"));

        await IncidentWithRoomsAsync(2);
        var meeting = Assert.Single(_graph.Meetings);
        Assert.Equal([503, 200], _graph.Calls.Where(c => c.Path.EndsWith("/createOrGet", StringComparison.Ordinal)).Select(c => c.Status));
        var timeline = await world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.StartsWith("Meeting bridge for INC-1", StringComparison.Ordinal)));
        Assert.Single(timeline, e => e.Text == $"Meeting bridge for INC-1: {meeting.JoinUrl}");
    }

    [Fact]
    public async Task Declare_GraphRefusesTheMeeting_CardAndTimelineSaySoAndTheThreadStillOpens()
    {
        var world = _world;
        _graph.FailNext(1, 403);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 No policy"));

        var timeline = await world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.Contains("could not be created", StringComparison.Ordinal)));
        Assert.Contains(timeline, e => e.Kind == TimelineKind.System
            && e.Text.StartsWith("The meeting bridge for INC-1 could not be created: Microsoft Graph answered 403 Forbidden.", StringComparison.Ordinal)
            && e.Text.Contains("application access policy", StringComparison.Ordinal));
        var thread = Assert.Single((await world.IncidentAsync(1)).WarRooms).Channel;
        Assert.StartsWith(IncidentsChannel, thread, StringComparison.Ordinal);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Update && x.Card?.ToJsonString().Contains("Bridge could not be created", StringComparison.Ordinal) == true)
            && c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == thread && x.Text?.Contains("could not be created", StringComparison.Ordinal) == true),
            what: "the failure on the card and in the thread");
        Assert.Empty(_graph.Meetings);
    }

    [Fact]
    public async Task MeetingEnds_TranscriptNotReadyThenReady_SpeakerLinesOnTheTimelineAndTheRestInOneEntry()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Cache stampede"));
        await IncidentWithRoomsAsync(2);
        var meeting = Assert.Single(_graph.Meetings);

        await world.PostAsync(world.Activities.MeetingEvent(meeting.ThreadId, TeamsWorld.Ann, "MCMjbWVldGluZw==", "application/vnd.microsoft.meetingEnd",
            new JsonObject { ["Title"] = meeting.Subject, ["MeetingType"] = "Scheduled" }));
        Assert.Contains(await world.WaitForTimelineAsync(1, t => t.Any(e => e.Kind == TimelineKind.Meeting)),
            e => e.Kind == TimelineKind.Meeting && e.Text == "Meeting ended: INC-1 Cache stampede");

        // Graph has no transcript yet (404): nothing is added, and it is asked again later.
        var transcripts = $"/v1.0/users/{Organizer}/onlineMeetings/{meeting.Id}/transcripts";
        await _graph.WaitForAsync(c => c.Any(x => x.Path == transcripts && x.Status == 404), what: "the transcript asked for");
        Assert.DoesNotContain(await world.TimelineAsync(1), e => e.Kind == TimelineKind.Transcript);

        _graph.AddTranscript(meeting.Id, """
            WEBVTT

            0f1c8c3e-1/12
            00:00:01.000 --> 00:00:04.000
            <v Ann>We rolled back the cache config.</v>

            0f1c8c3e-1/13
            00:00:04.000 --> 00:00:06.500
            <v Ann>Errors are falling.</v>

            0:0:7.0 --> 0:0:9.0
            <v Bo>Confirmed on the dashboard.</v>

            00:00:10.000 --> 00:00:12.000
            <v Cy>Closing the bridge.</v>

            00:00:12.000 --> 00:00:13.000
            <v Ann>Thanks &amp; bye.</v>
            """);

        var timeline = await world.WaitForTimelineAsync(1, t => t.Count(e => e.Kind == TimelineKind.Transcript) == 3);
        var lines = timeline.Where(e => e.Kind == TimelineKind.Transcript).Select(e => (e.Author?.DisplayName, e.Text)).ToList();
        Assert.Equal(
            [
                ("Ann", "We rolled back the cache config. Errors are falling."),
                ("Bo", "Confirmed on the dashboard."),
                (null, "Transcript continued (2 more lines; the full transcript is in the meeting's recap in Teams):\nCy: Closing the bridge.\nAnn: Thanks & bye."),
            ],
            lines);
        Assert.Contains(_graph.Calls, c => c.Path.StartsWith(transcripts + "/", StringComparison.Ordinal) && c.Path.EndsWith("/content", StringComparison.Ordinal) && c.Status == 200);
    }

    /// <summary>INC-1 once it has <paramref name="count"/> war rooms (the declare may finish after Teams was answered).</summary>
    private async Task<Incident> IncidentWithRoomsAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var incident = await _world.Store.GetAsync(new IncidentNumber(1), default);
            if (incident?.WarRooms.Count == count)
            {
                return incident;
            }

            Assert.True(DateTime.UtcNow < deadline, $"INC-1 has {incident?.WarRooms.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} war rooms, not {count}");
            await Task.Delay(50);
        }
    }
}

public sealed class MeetingSubjectTests
{
    private static readonly Incident Checkout = new(1, new IncidentNumber(42), "Payroll data leaked", null, Severity.Sev1,
        IncidentStatus.Investigating, new Person("slack", "U1", "Ann"), DateTimeOffset.UnixEpoch, 1);

    [Fact]
    public void Subject_PublicIncident_NumberAndTitle() =>
        Assert.Equal("INC-42 Payroll data leaked", Teams.Meetings.MeetingBridge.Subject(Checkout));

    [Fact]
    public void Subject_PrivateIncident_NumberOnly() =>
        Assert.Equal("INC-42", Teams.Meetings.MeetingBridge.Subject(Checkout with { IsPrivate = true }));
}
