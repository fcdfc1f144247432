using System.Net;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

public sealed class SqliteWarRoomChannelTests : WarRoomChannelTests<SqliteTestDatabase>;

public sealed class PostgresWarRoomChannelTests : WarRoomChannelTests<PostgresTestDatabase>;

/// <summary>
/// <c>Teams:WarRoom=channel</c> through the real host on each store: Graph (fake, real HTTP) makes a channel per incident
/// in one of two teams, the card is posted there through the Bot Connector, everything said there is captured, and the
/// channel is archived on resolve.
/// </summary>
public abstract class WarRoomChannelTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const string TeamA = "2b1f0c4e-0000-4000-8000-00000000aa01";
    private const string TeamB = "2b1f0c4e-0000-4000-8000-00000000bb02";
    private const string OpsChannel = "19:ops@thread.tacv2";

    private readonly TDatabase _database = new();
    private FakeGraph _graph = null!;
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _graph = await FakeGraph.StartAsync(TeamA, TeamB);
        _world = await TeamsWorld.StartAsync(_database, settings: new Dictionary<string, string?>
        {
            ["Teams:WarRoom"] = "channel",
            ["Teams:WarRoomTeamIds:0"] = TeamA,
            ["Teams:WarRoomTeamIds:1"] = TeamB,
            ["Teams:GraphBaseUrl"] = _graph.GraphBaseUrl,
            ["Teams:GraphTokenEndpoint"] = _graph.TokenEndpoint,
            ["Teams:ArchiveOnResolve"] = "true",
            ["Teams:MaxRetryDelay"] = "00:00:05",
        });
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _graph.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Declare_ForbiddenCharactersInTitle_ChannelWithValidNameCardThereAndEverythingSaidCaptured()
    {
        var world = _world;
        var activities = world.Activities;
        var declare = activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Checkout: 50% errors? #EU/US");
        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(declare)).StatusCode);

        // Graph makes the channel (name sanitised), in the first team for INC-1.
        var created = (await _graph.WaitForAsync(c => c.Any(x => x.Status == 201), what: "the channel")).Single(x => x.Status == 201);
        Assert.Equal("inc-1-checkout-50-errors-eu-us", created.DisplayName);
        Assert.Equal(TeamA, created.TeamId);
        Assert.Equal("standard", (string?)created.Body!["membershipType"]);
        var channel = Assert.Single(_graph.Channels);

        // Linked at once as the war room; the card is the channel's first post through the Bot Connector.
        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        Assert.Equal(new ChatSpace("teams", channel.Id), Assert.Single(incident.WarRooms));
        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the card in the channel");
        var post = calls.Single(x => x.Operation == ConnectorOperation.CreateConversation);
        Assert.Equal(channel.Id, (string?)post.Body!["channelData"]!["channel"]!["id"]);
        Assert.True((bool)post.Body["isGroup"]!);
        Assert.Contains("Checkout: 50% errors? #EU/US", post.Card!.ToJsonString(), StringComparison.Ordinal);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == (string?)declare["id"]
            && x.Text!.Contains("new channel of its own", StringComparison.Ordinal)), what: "the declare answer");

        // Replies under the card and new posts in the channel (their own thread ids) are all captured, pins and edits too.
        var createdThread = await CardThreadAsync(channel.Id);
        var reply = activities.Message(createdThread, TeamsWorld.Cy, "Rolling back deploy 42");
        await world.PostAsync(reply);
        var newPostId = activities.NextId();
        var newPost = activities.Message($"{channel.Id};messageid={newPostId}", TeamsWorld.Bo, "Error rate still high", id: newPostId);
        await world.PostAsync(newPost);
        var timeline = await world.TimelineAsync(1);
        Assert.Equal(new MessageRef("teams", channel.Id, (string)reply["id"]!), timeline.Single(e => e.Text == "Rolling back deploy 42").Source);
        Assert.Equal(new MessageRef("teams", channel.Id, newPostId), timeline.Single(e => e.Text == "Error rate still high").Source);

        await world.PostAsync(activities.Reaction(createdThread, TeamsWorld.Ann, (string)reply["id"]!, "1f4cc_pushpin"));
        Assert.True((await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == (string?)reply["id"]).Pinned);
        await world.PostAsync(activities.MessageUpdate($"{channel.Id};messageid={newPostId}", TeamsWorld.Bo, newPostId, "Error rate back to normal"));
        Assert.Equal("Error rate back to normal", (await world.TimelineAsync(1)).Single(e => e.Source?.MessageId == newPostId).Text);

        // A command in the channel acts on its incident; its answer goes to the thread it was said in.
        var status = activities.Command(createdThread, TeamsWorld.Ann, "status identified");
        await world.PostAsync(status);
        Assert.Equal(IncidentStatus.Identified, (await WaitAsync(() => world.IncidentAsync(1), i => i.Status == IncidentStatus.Identified)).Status);
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Reply && x.ConversationId == createdThread && x.ActivityId == (string?)status["id"]),
            what: "the answer in the thread");
    }

    [Fact]
    public async Task Declares_TwoTeamsAndATakenName_SpreadInTurnAndSuffixedOnNameAlreadyExists()
    {
        var world = _world;
        _graph.AddChannel(TeamB, "inc-2-search-latency");
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Login slow"));
        await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Search latency"));
        await WaitAsync(() => world.IncidentAsync(2), i => i.WarRooms.Count == 1);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev3 Cache misses"));
        await WaitAsync(() => world.IncidentAsync(3), i => i.WarRooms.Count == 1);

        var made = _graph.Calls.Where(c => c.Status == 201).Select(c => (c.TeamId, c.DisplayName)).ToList();
        Assert.Equal([(TeamA, "inc-1-login-slow"), (TeamB, "inc-2-search-latency-2"), (TeamA, "inc-3-cache-misses")], made);
        Assert.Contains(_graph.Calls, c => c.Status == 409 && c.DisplayName == "inc-2-search-latency");
        var second = _graph.Channels.Single(c => c.DisplayName == "inc-2-search-latency-2");
        Assert.Equal(new ChatSpace("teams", second.Id), Assert.Single((await world.IncidentAsync(2)).WarRooms));
    }

    [Fact]
    public async Task Declare_GraphThrottles_RetryAfterHonouredAndOneChannel()
    {
        var world = _world;
        _graph.FailNext(1, 429, TimeSpan.FromSeconds(1));
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Throttled"));

        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var calls = _graph.Calls;
        Assert.Equal([429, 201], calls.Select(c => c.Status));
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromMilliseconds(900), "retried before Retry-After");
        Assert.Equal(Assert.Single(_graph.Channels).Id, Assert.Single(incident.WarRooms).Channel);
    }

    [Fact]
    public async Task Declare_GraphUnavailableLongerThanTheClientRetries_OutboxRetriesLaterAndMakesOneChannel()
    {
        var world = _world;
        // The first delivery's call and its 4 retries all meet 503; the outbox tries the delivery again later.
        _graph.FailNext(5, 503, TimeSpan.Zero);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Graph outage"));

        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        Assert.Equal([503, 503, 503, 503, 503, 201], _graph.Calls.Select(c => c.Status));
        Assert.Equal(Assert.Single(_graph.Channels).Id, Assert.Single(incident.WarRooms).Channel);
        await world.Connector.WaitForAsync(c => c.Count(x => x.Operation == ConnectorOperation.CreateConversation) == 1, what: "one card");
    }

    [Fact]
    public async Task Declare_ChannelMadeButItsAnswerLost_RetryFindsAndLinksThatChannelNoSecond()
    {
        var world = _world;
        // Graph makes the channel, but the bot never learns it (crash or timeout before the link): the retry meets
        // NameAlreadyExists for its own channel.
        _graph.LoseNextCreateAnswer();
        _graph.AddChannel(TeamA, "inc-1-orphan-window-2");
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Orphan window"));

        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var ours = Assert.Single(_graph.Channels, c => c.DisplayName == "inc-1-orphan-window");
        Assert.Equal(new ChatSpace("teams", ours.Id), Assert.Single(incident.WarRooms));
        Assert.Equal(2, _graph.Channels.Count);
        Assert.Contains(_graph.Calls, c => c.Method == "GET" && c.Path == $"/v1.0/teams/{TeamA}/channels" && c.Status == 200);
        var card = (await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the card"))
            .Single(x => x.Operation == ConnectorOperation.CreateConversation);
        Assert.Equal(ours.Id, (string?)card.Body!["channelData"]!["channel"]!["id"]);
    }

    [Fact]
    public async Task Declare_NameTakenByAChannelNotOurs_SuffixedNotReused()
    {
        var world = _world;
        _graph.AddChannel(TeamA, "inc-1-someone-elses");
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Someone elses"));

        var incident = await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1);
        var made = Assert.Single(_graph.Channels, c => c.DisplayName == "inc-1-someone-elses-2");
        Assert.Equal(new ChatSpace("teams", made.Id), Assert.Single(incident.WarRooms));
    }

    [Fact]
    public async Task Declare_GraphRefuses_TimelineAndMessageSayWhatFailedAndNoHalfRoom()
    {
        var world = _world;
        _graph.FailNext(1, 403);
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 No permission"));

        var timeline = await world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.Contains("Could not create the war-room channel", StringComparison.Ordinal)));
        Assert.Contains(timeline, e => e.Kind == TimelineKind.System && e.Text.Contains("403 Forbidden", StringComparison.Ordinal)
            && e.Text.Contains("Channel.Create.Group", StringComparison.Ordinal));
        await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Send && x.ConversationId == OpsChannel
            && x.Text?.Contains("Could not create the war-room channel for INC-1", StringComparison.Ordinal) == true), what: "the failure told where it was declared");
        Assert.Empty((await world.IncidentAsync(1)).WarRooms);
        Assert.DoesNotContain(world.Connector.Calls, x => x.Operation == ConnectorOperation.CreateConversation);
    }

    [Fact]
    public async Task Resolve_ArchiveOnResolve_ChannelArchivedAfterTheLastCardAndTimelineSaysSo()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Archive me"));
        var channel = (await WaitAsync(() => world.IncidentAsync(1), i => i.WarRooms.Count == 1)).WarRooms[0].Channel;
        var thread = await CardThreadAsync(channel);

        await world.PostAsync(world.Activities.Command(thread, TeamsWorld.Ann, "resolve Fixed"));

        await _graph.WaitForAsync(c => c.Any(x => x.Path.EndsWith("/archive", StringComparison.Ordinal) && x.Status == 202), what: "the archive");
        Assert.True(Assert.Single(_graph.Channels).Archived);
        var archive = _graph.Calls.Single(x => x.Path.EndsWith("/archive", StringComparison.Ordinal));
        Assert.Equal(TeamA, archive.TeamId);
        Assert.Equal($"/v1.0/teams/{TeamA}/channels/{channel}/archive", archive.Path);
        var timeline = await world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.StartsWith("Archived the war-room channel", StringComparison.Ordinal)));
        Assert.Contains(timeline, e => e.Text.StartsWith("Archived the war-room channel", StringComparison.Ordinal));
        // The resolved card reached the channel before it was archived.
        var update = world.Connector.Calls.Last(x => x.Operation == ConnectorOperation.Update && x.ConversationId == thread);
        Assert.True(update.ReceivedAt <= archive.ReceivedAt);
        Assert.Contains("resolved", update.Card!.ToJsonString(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The thread the card started in the channel (what Teams sends replies to the card with).</summary>
    private async Task<string> CardThreadAsync(string channelId) =>
        $"{channelId};messageid={await WaitAsync(() => CardActivityIdAsync(channelId), id => id.Length > 0)}";

    private async Task<string> CardActivityIdAsync(string channelId)
    {
        var store = _world.Services.GetRequiredService<TeamsStore>();
        var incident = await _world.Store.FindByWarRoomAsync(new ChatSpace("teams", channelId), default);
        return incident is null ? "" : (await store.GetCardAsync(incident.Id, channelId, default))?.ActivityId ?? "";
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
