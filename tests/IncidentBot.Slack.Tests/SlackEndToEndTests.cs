using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using Microsoft.Extensions.DependencyInjection;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>The whole Slack story against the real host and a fake Slack, on SQLite and on PostgreSQL.</summary>
public abstract class SlackEndToEndTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const string Ann = "UANN00001";
    private const string Bob = "UBOB00001";
    private const string Carol = "UCAROL001";

    private readonly TDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;
    private FakeChannel _announcements = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _announcements = _slack.AddChannel("incidents");
        _slack.AddUser(Ann, "ann");
        _slack.AddUser(Bob, "bob");
        _slack.AddUser(Carol, "carol");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Scenario_OverHttp_DeclaresAssignsCapturesPinsUpdatesResolves()
    {
        await using var host = StartHost(socketMode: false);
        await RunScenarioAsync(host);
    }

    [Fact]
    public async Task Scenario_OverSocketMode_DeclaresAssignsCapturesPinsUpdatesResolves()
    {
        await using var host = StartHost(socketMode: true);
        await FakeSlackServer.WaitUntilAsync(() => _slack.OpenSockets == 2, "two Socket Mode connections");
        await RunScenarioAsync(host);
    }

    [Fact]
    public async Task SocketMode_DisconnectRequested_ReconnectsAndKeepsServing()
    {
        await using var host = StartHost(socketMode: true);
        await FakeSlackServer.WaitUntilAsync(() => _slack.OpenSockets == 2, "two Socket Mode connections");

        await _slack.SendDisconnectAsync("refresh_requested");

        await FakeSlackServer.WaitUntilAsync(() => _slack.ConnectionsOpened >= 3 && _slack.OpenSockets == 2, "a third apps.connections.open and two open sockets");
        var reply = await host.Transport.CommandAsync(SlackPayloads.Command("help", Ann, "ann", _general.Id));
        Assert.Contains("Incident commands", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SocketMode_ConnectionsGoHalfOpen_ReplacedWithinTheLivenessTimeoutAndServing()
    {
        var settings = new Dictionary<string, string?> { ["Slack:SocketModeLivenessTimeout"] = "00:00:02" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: true, settings);
        await FakeSlackServer.WaitUntilAsync(() => _slack.OpenSockets == 2, "two Socket Mode connections");
        var opened = _slack.ConnectionsOpened;

        // Slack's side is gone without a FIN: the bot's sockets stay open and hear nothing, not even pongs.
        Assert.Equal(2, _slack.FreezeSockets());

        await FakeSlackServer.WaitUntilAsync(
            () => _slack.ConnectionsOpened >= opened + 2 && _slack.OpenSockets == 2, $"both connections replaced (opened {opened}, then {_slack.ConnectionsOpened}; {_slack.OpenSockets} open)", TimeSpan.FromSeconds(10));
        var reply = await host.Transport.CommandAsync(SlackPayloads.Command("help", Ann, "ann", _general.Id));
        Assert.Contains("Incident commands", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SocketMode_AppTokenRejected_StopsInsteadOfHammering()
    {
        var settings = new Dictionary<string, string?> { ["Slack:AppToken"] = "xapp-1-revoked" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: true, settings);

        await _slack.WaitForCallsAsync("apps.connections.open", 2);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // longer than the first two reconnect backoffs (1 s, 2 s)

        Assert.Equal(2, _slack.CallsTo("apps.connections.open").Count);
        Assert.Equal(0, _slack.ConnectionsOpened);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Events_RetriedAndAlsoAppMention_CaptureOnce(bool socketMode)
    {
        await using var host = StartHost(socketMode);
        var (incident, room) = await DeclareAsync(host, "declare sev2 Search is slow");

        var ts = _slack.PostUserMessage(room, Ann, "p99 is 4s on search");
        var callback = SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, "p99 is 4s on search"));
        await host.Transport.EventAsync(callback);
        await host.Transport.EventAsync(callback, retry: 1);
        await host.Transport.EventAsync(callback, retry: 2);
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.AppMention(room, Ann, ts, "p99 is 4s on search")));

        var timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        Assert.Single(timeline, e => e.Source?.MessageId == ts);
    }

    [Fact]
    public async Task Events_MessageAndItsRetries_DedupedByTheCaptureItselfWithNoEventReceipt()
    {
        await using var host = StartHost(socketMode: false);
        var (incident, room) = await DeclareAsync(host, "declare sev2 Queue backlog");
        var receipts = await CountReceiptsAsync(host);
        var ts = _slack.PostUserMessage(room, Ann, "backlog at 40k");
        var callback = SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, "backlog at 40k"));

        await host.Transport.EventAsync(callback);
        await host.Transport.EventAsync(callback, retry: 1);
        await host.Transport.EventAsync(callback, retry: 2);

        Assert.Single(await host.Store.GetTimelineAsync(incident.Id, default), e => e.Source?.MessageId == ts);
        Assert.Equal(receipts, await CountReceiptsAsync(host));
        // A reaction has no key of its own in the timeline: it still keeps its event receipt.
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Reaction(true, Bob, "pushpin", room, ts)));
        Assert.Equal(receipts + 1, await CountReceiptsAsync(host));
    }

    private static async Task<long> CountReceiptsAsync(SlackHost host)
    {
        await using var connection = await host.Factory.Services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbound_receipts WHERE source = 'slack-events'");
    }

    [Fact]
    public async Task Events_PinReactionRedeliveredAfterRemoval_StaysUnpinned()
    {
        await using var host = StartHost(socketMode: false);
        var (incident, room) = await DeclareAsync(host, "declare Cache stampede");
        var ts = _slack.PostUserMessage(room, Ann, "cache hit rate 2%");
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, "cache hit rate 2%")));
        var added = SlackPayloads.EventCallback(SlackPayloads.Reaction(true, Bob, "pushpin", room, ts));
        await host.Transport.EventAsync(added);
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Reaction(false, Bob, "pushpin", room, ts)));

        await host.Transport.EventAsync(added, retry: 1);

        var timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        Assert.False(timeline.Single(e => e.Source?.MessageId == ts).Pinned);
    }

    [Fact]
    public async Task Declare_NameTaken_CreatesUniqueVariant()
    {
        _slack.AddChannel("inc-1-payments-down", creator: "USOMEONE");
        await using var host = StartHost(socketMode: false);

        var (incident, room) = await DeclareAsync(host, "declare sev1 Payments down");

        Assert.Equal("inc-1-payments-down-2", _slack.Channels[room].Name);
        Assert.Contains(_slack.CallsTo("conversations.create"), c => c.Arg("name") == "inc-1-payments-down");
        Assert.Equal(2, _slack.Channels.Values.Count(c => c.Name.StartsWith("inc-1-", StringComparison.Ordinal)));
        Assert.Contains(new ChatSpace("slack", room), incident.WarRooms);
    }

    [Fact]
    public async Task Declare_SlackServerErrorThenOk_OneChannelAfterRetry()
    {
        _slack.Script("conversations.create", SlackFault.ServerError(), SlackFault.ServerError());
        await using var host = StartHost(socketMode: false);

        var (_, room) = await DeclareAsync(host, "declare DNS flapping");

        Assert.Equal(3, _slack.CallsTo("conversations.create").Count);
        Assert.Single(_slack.Channels.Values, c => c.Name.StartsWith("inc-1-", StringComparison.Ordinal));
        Assert.Equal("inc-1-dns-flapping", _slack.Channels[room].Name);
    }

    [Fact]
    public async Task Posts_ManyChangesToOneChannel_InOrderAndSpacedByInterval()
    {
        var extra = new Dictionary<string, string?> { ["Slack:AnnouncementsChannel"] = _announcements.Id, ["Slack:ChannelPostInterval"] = "00:00:00.200" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: false, extra);
        var (incident, room) = await DeclareAsync(host, "declare sev3 Flaky tests");

        await host.Transport.CommandAsync(SlackPayloads.Command("sev 2", Ann, "ann", room));
        await host.Transport.CommandAsync(SlackPayloads.Command("status identified", Ann, "ann", room));
        await host.Transport.CommandAsync(SlackPayloads.Command("update Found the flaky test", Ann, "ann", room));

        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Count == 4, "card and three posts");
        var texts = _slack.Channels[room].Messages.Values.OrderBy(m => m.Ts, StringComparer.Ordinal).Select(m => m.Text).ToList();
        Assert.Contains("SEV2", texts[1], StringComparison.Ordinal);
        Assert.Contains("identified", texts[2], StringComparison.Ordinal);
        Assert.Contains("Found the flaky test", texts[3], StringComparison.Ordinal);
        var writes = _slack.Calls.Where(c => c.Method is "chat.postMessage" or "chat.update" && c.Arg("channel") == room).Select(c => c.At).ToList();
        Assert.All(writes.Zip(writes.Skip(1)), pair => Assert.True(pair.Second - pair.First >= TimeSpan.FromMilliseconds(190), $"{(pair.Second - pair.First).TotalMilliseconds} ms apart"));
        Assert.Equal(Severity.Sev2, (await host.Store.GetAsync(incident.Number, default))!.Severity);
    }

    [Fact]
    public async Task Post_SlackRefusesForGood_LaterEventsStillDelivered()
    {
        await using var host = StartHost(socketMode: false);
        var (_, room) = await DeclareAsync(host, "declare Mail queue stuck");
        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Count == 1, "the card");
        _slack.Script("chat.postMessage", SlackFault.Fails("is_archived"));

        await host.Transport.CommandAsync(SlackPayloads.Command("sev 2", Ann, "ann", room));
        await host.Transport.CommandAsync(SlackPayloads.Command("status identified", Ann, "ann", room));

        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Values.Any(m => m.Text.Contains("identified", StringComparison.Ordinal)), "the status post after the refused one", TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(_slack.Channels[room].Messages.Values, m => m.Text.Contains("SEV2", StringComparison.Ordinal) && !m.Text.StartsWith("INC-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Post_SlackRateLimitsForAnHour_DeliveryCutOffAtItsTimeoutAndRetriedInsteadOfHoldingTheLane()
    {
        // Slack's Retry-After alone would keep the call (and every later event of the incident) waiting for an hour.
        var extra = new Dictionary<string, string?> { ["Outbox:DeliveryTimeout"] = "00:00:02" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: false, extra);
        var (incident, room) = await DeclareAsync(host, "declare Queue backlog");
        _slack.Script("chat.postMessage", SlackFault.RateLimited(retryAfterSeconds: 3600));

        await host.Transport.CommandAsync(SlackPayloads.Command("status identified", Ann, "ann", room));

        await FakeSlackServer.WaitUntilAsync(
            () => _slack.Channels[room].Messages.Values.Any(m => m.Text.Contains("identified", StringComparison.Ordinal) && !m.Text.StartsWith("INC-", StringComparison.Ordinal)),
            "the status post, retried after its attempt was cut off",
            TimeSpan.FromSeconds(15));
        var posts = _slack.CallsTo("chat.postMessage").Where(c => c.Arg("channel") == room && c.Arg("text")!.Contains("identified", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, posts.Count);
        Assert.DoesNotContain(await host.Store.GetTimelineAsync(incident.Id, default), e => e.Text.StartsWith("IncidentBot gave up", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Declare_AnnouncementsChannelMissing_WarRoomStillLinked()
    {
        var extra = new Dictionary<string, string?> { ["Slack:AnnouncementsChannel"] = "CDOESNOTEXIST" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: false, extra);

        var (incident, room) = await DeclareAsync(host, "declare Cert expired");

        Assert.Contains(("chat.postMessage", "channel_not_found"), _slack.Rejections);
        Assert.Equal(new ChatSpace("slack", room), incident.WarRooms.Single());
        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Count == 1, "the card");
    }

    [Fact]
    public async Task Resolve_ArchiveOnResolve_ArchivesTheChannelItMadeAfterTheResolutionPostNeverALinkedOne()
    {
        var extra = new Dictionary<string, string?> { ["Slack:ArchiveOnResolve"] = "true" };
        await using var host = SlackHost.Start(_database, _slack, socketMode: false, extra);
        var (incident, room) = await DeclareAsync(host, "declare sev2 Archive me");
        await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Ann, "ann", _general.Id));
        await host.WaitForIncidentAsync(incident.Number, i => i.WarRooms.Count == 2, "the linked channel");

        await host.Transport.CommandAsync(SlackPayloads.Command("resolve Fixed", Ann, "ann", room));

        await _slack.WaitForCallsAsync("conversations.archive", 1);
        var archive = Assert.Single(_slack.CallsTo("conversations.archive"));
        Assert.Equal(room, archive.Arg("channel"));
        Assert.True(_slack.CallsTo("chat.postMessage").Last(c => c.Arg("channel") == room).At <= archive.At);
        var timeline = await host.WaitForTimelineAsync(incident.Id, t => t.Any(e => e.Text.StartsWith("Archived the war-room channel in Slack", StringComparison.Ordinal)), "the archive entry");
        Assert.Single(timeline, e => e.Text.StartsWith("Archived the war-room channel", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Link_ExistingChannel_JoinsPostsCardAndCapturesThere()
    {
        await using var host = StartHost(socketMode: false);
        var (incident, _) = await DeclareAsync(host, "declare sev2 Ledger drift");
        var team = _slack.AddChannel("team-payments");

        var reply = await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Ann, "ann", team.Id));

        Assert.Contains("now a war room of INC-1", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
        await _slack.WaitForCallsAsync("conversations.join", 1);
        await FakeSlackServer.WaitUntilAsync(() => team.Messages.Values.Any(m => m.Text.StartsWith("INC-1 (SEV2", StringComparison.Ordinal)), "the card in the linked channel");
        var ts = _slack.PostUserMessage(team.Id, Carol, "ledger job paused");
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(team.Id, Carol, ts, "ledger job paused")));
        Assert.Contains(await host.Store.GetTimelineAsync(incident.Id, default), e => e.Source == new MessageRef("slack", team.Id, ts));
    }

    [Fact]
    public async Task RoleAssigned_HolderNotInWarRoom_Invited()
    {
        await using var host = StartHost(socketMode: false);
        var (_, room) = await DeclareAsync(host, "declare Billing lag");

        await host.Transport.CommandAsync(SlackPayloads.Command($"role scribe <@{Carol}>", Ann, "ann", room));

        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Members.ContainsKey(Carol), "the scribe in the war room");
    }

    [Fact]
    public async Task Card_RateLimitedWithRetryAfter_PostedAfterWaiting()
    {
        _slack.Script("chat.postMessage", SlackFault.RateLimited(retryAfterSeconds: 1));
        await using var host = StartHost(socketMode: false);

        var (_, room) = await DeclareAsync(host, "declare Queue backlog");

        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Count == 1, "the card");
        var posts = _slack.CallsTo("chat.postMessage").Where(c => c.Arg("channel") == room).ToList();
        Assert.Equal(2, posts.Count);
        Assert.True(posts[1].At - posts[0].At >= TimeSpan.FromSeconds(0.95), $"retried after {(posts[1].At - posts[0].At).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Restart_AfterAckWhileChannelCreationInFlight_ExactlyOneChannel()
    {
        // Slack creates the channel but the answer never reaches the bot: the host stops (a crash or deploy) first.
        var release = new TaskCompletionSource();
        _slack.Script("conversations.create", new SlackFault(Hold: release.Task));
        var first = StartHost(socketMode: false);
        var reply = await first.Transport.CommandAsync(SlackPayloads.Command("declare sev1 Login broken", Ann, "ann", _general.Id));
        Assert.Equal("in_channel", reply.GetProperty("response_type").GetString());
        await _slack.WaitForCallsAsync("conversations.create", 1);
        await first.DisposeAsync();
        release.SetResult();

        // The first host checked out as it stopped, so the second takes over its claim at once, lease or not.
        await using var second = StartHost(socketMode: false);
        var incident = await second.WaitForWarRoomAsync(new IncidentNumber(1));

        Assert.Single(_slack.Channels.Values, c => c.Name.StartsWith("inc-1-", StringComparison.Ordinal));
        var channel = _slack.ChannelNamed("inc-1-login-broken")!;
        Assert.Equal(new ChatSpace("slack", channel.Id), incident.WarRooms.Single());
        await FakeSlackServer.WaitUntilAsync(() => channel.Messages.Count == 1, "the card");
        Assert.Contains(Ann, channel.Members.Keys);
    }

    private SlackHost StartHost(bool socketMode)
    {
        var extra = new Dictionary<string, string?> { ["Slack:AnnouncementsChannel"] = _announcements.Id };
        return SlackHost.Start(_database, _slack, socketMode, extra);
    }

    private async Task<(Incident Incident, string Room)> DeclareAsync(SlackHost host, string text)
    {
        var reply = await host.Transport.CommandAsync(SlackPayloads.Command(text, Ann, "ann", _general.Id));
        var number = IncidentNumber.TryParse(System.Text.RegularExpressions.Regex.Match(reply.GetProperty("text").GetString()!, @"INC-\d+").Value, out var n) ? n : throw new InvalidOperationException(reply.ToString());
        var incident = await host.WaitForWarRoomAsync(number);
        return (incident, incident.WarRooms.Single().Channel);
    }

    private async Task RunScenarioAsync(SlackHost host)
    {
        var slack = host.Transport;

        // Declare: acknowledged in the channel at once; the war room follows from the outbox.
        var reply = await slack.CommandAsync(SlackPayloads.Command("declare sev1 Checkout is down", Ann, "ann", _general.Id));
        Assert.Equal("in_channel", reply.GetProperty("response_type").GetString());
        Assert.Contains("INC-1", reply.GetProperty("text").GetString(), StringComparison.Ordinal);

        var incident = await host.WaitForWarRoomAsync(new IncidentNumber(1));
        var room = _slack.ChannelNamed("inc-1-checkout-is-down") ?? throw new InvalidOperationException("no war-room channel");
        Assert.Equal(new ChatSpace("slack", room.Id), incident.WarRooms.Single());
        Assert.Contains(Ann, room.Members.Keys);
        Assert.StartsWith("INC-1 · SEV1 · investigating", room.Topic, StringComparison.Ordinal);
        await FakeSlackServer.WaitUntilAsync(() => !room.Messages.IsEmpty, "the incident card");
        var card = room.Messages.Values.Single();
        Assert.Contains("INC-1 · SEV1 · Checkout is down", card.Blocks.Raw(), StringComparison.Ordinal);
        Assert.Contains(_announcements.Messages.Values, m => m.Text.Contains("INC-1", StringComparison.Ordinal) && m.Blocks.Raw().Contains($"<#{room.Id}>", StringComparison.Ordinal));

        // Roles: by command in the war room (private confirmation) and by the card's user picker.
        var roleReply = await slack.CommandAsync(SlackPayloads.Command($"role ic <@{Bob}|bob>", Ann, "ann", room.Id));
        Assert.Equal("ephemeral", roleReply.GetProperty("response_type").GetString());
        await slack.InteractionAsync(SlackPayloads.BlockAction(Ann, "ann", room.Id, "card:INC-1:roles", SlackPayloads.UsersSelectAction("incident_role_lead", Carol)));
        incident = await host.WaitForIncidentAsync(incident.Number, i => i.Roles.Count == 2, "two roles");
        Assert.Equal(Bob, incident.RoleHolder(IncidentRole.Commander)!.UserId);
        Assert.Equal("bob", incident.RoleHolder(IncidentRole.Commander)!.Name);
        Assert.Equal(Carol, incident.RoleHolder(IncidentRole.Lead)!.UserId);
        await FakeSlackServer.WaitUntilAsync(() => room.Messages.Values.Any(m => m.Text.Contains($"<@{Carol}> is now *Tech lead*", StringComparison.Ordinal)), "the lead announcement");
        await FakeSlackServer.WaitUntilAsync(() => card.Blocks.Raw().Contains($"<@{Carol}>", StringComparison.Ordinal), "the card showing the lead");

        // Conversation: a message, a thread reply and a file share are captured; bot posts and joins are not.
        var ts1 = _slack.PostUserMessage(room.Id, Ann, "Seeing 500s from the payment gateway");
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room.Id, Ann, ts1, "Seeing 500s from the payment gateway")));
        var ts2 = _slack.PostUserMessage(room.Id, Bob, "Rolling back deploy 4512");
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room.Id, Bob, ts2, "Rolling back deploy 4512", threadTs: ts1)));
        var ts3 = _slack.PostUserMessage(room.Id, Carol, "error graph");
        var share = SlackPayloads.Message(room.Id, Carol, ts3, "error graph", subtype: "file_share");
        share["files"] = new JsonArray(new JsonObject { ["id"] = "F1", ["name"] = "errors.png" });
        await slack.EventAsync(SlackPayloads.EventCallback(share));
        var botMessage = SlackPayloads.Message(room.Id, FakeSlackServer.BotUserId, "1700000000.000001", "card text");
        botMessage["bot_id"] = FakeSlackServer.BotId;
        await slack.EventAsync(SlackPayloads.EventCallback(botMessage));
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room.Id, Carol, "1700000000.000002", "<@UCAROL001> has joined the channel", subtype: "channel_join")));

        var timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        var messages = timeline.Where(e => e.Kind == TimelineKind.Message).ToList();
        Assert.Equal([ts1, ts2, ts3], messages.Select(e => e.Source!.MessageId));
        Assert.Equal("bob", messages[1].Author!.Name);
        Assert.Contains("errors.png", messages[2].Text, StringComparison.Ordinal);

        // Edits and deletes follow the conversation.
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.MessageChanged(room.Id, ts2, Bob, "Rolling back deploy 4512", "Rolling back deploy 4511")));
        var ts4 = _slack.PostUserMessage(room.Id, Carol, "oops wrong channel");
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room.Id, Carol, ts4, "oops wrong channel")));
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.MessageDeleted(room.Id, ts4)));
        timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        Assert.Equal("Rolling back deploy 4511", timeline.Single(e => e.Source?.MessageId == ts2).Text);
        Assert.DoesNotContain(timeline, e => e.Source?.MessageId == ts4);

        // Pins: 📌 on a captured message keeps its original time; the bot confirms with a reaction. A message
        // the bot never saw is fetched and captured pinned; the shortcut pins explicitly.
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Reaction(true, Bob, "pushpin", room.Id, ts1)));
        var ts5 = _slack.PostUserMessage(room.Id, Carol, "Gateway confirms an outage on their side");
        await slack.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Reaction(true, Bob, "pushpin", room.Id, ts5)));
        var shortcut = await slack.InteractionAsync(SlackPayloads.MessageShortcut(Ann, "ann", SlackIds.AddToTimelineShortcut, room.Id, ts2, Bob, "Rolling back deploy 4511"));
        Assert.Equal(JsonValueKind.Object, shortcut.ValueKind);
        timeline = await host.WaitForTimelineAsync(incident.Id, t => t.Count(e => e.Pinned) == 3, "three pinned entries");
        var pinned = timeline.Single(e => e.Source?.MessageId == ts1);
        Assert.True(SlackTs.TryParse(ts1, out var postedAt));
        Assert.Equal(postedAt, pinned.OccurredAt);
        Assert.Equal("Gateway confirms an outage on their side", timeline.Single(e => e.Source?.MessageId == ts5).Text);
        await FakeSlackServer.WaitUntilAsync(() => room.Messages[ts1].Reactions.ContainsKey("white_check_mark") && room.Messages[ts5].Reactions.ContainsKey("white_check_mark"), "pin confirmations");

        // Update and resolve.
        await slack.CommandAsync(SlackPayloads.Command("update Rolled back; error rate falling", Bob, "bob", room.Id));
        await FakeSlackServer.WaitUntilAsync(() => room.Messages.Values.Any(m => m.Text.Contains("*Status update*", StringComparison.Ordinal) && m.Text.Contains("error rate falling", StringComparison.Ordinal)), "the update post");
        await slack.InteractionAsync(SlackPayloads.BlockAction(Bob, "bob", room.Id, "card:INC-1:state", SlackPayloads.ButtonAction("incident_resolve", "INC-1")));
        incident = await host.WaitForIncidentAsync(incident.Number, i => i.IsResolved, "resolution");
        await FakeSlackServer.WaitUntilAsync(() => room.Messages.Values.Any(m => m.Text.Contains("INC-1 resolved by", StringComparison.Ordinal)), "the resolution post");
        await FakeSlackServer.WaitUntilAsync(() => !card.Blocks.Raw().Contains("incident_resolve", StringComparison.Ordinal), "the card without buttons");

        // Nothing the bot sent was rejected by Slack's limits or checks.
        Assert.DoesNotContain(_slack.Rejections, r => r.Error is "invalid_blocks" or "invalid_arguments" or "not_in_channel" or "channel_not_found" or "not_authed" or "invalid_auth");
    }
}

public sealed class SqliteSlackEndToEndTests : SlackEndToEndTests<SqliteTestDatabase>;

public sealed class PostgresSlackEndToEndTests : SlackEndToEndTests<PostgresTestDatabase>;
