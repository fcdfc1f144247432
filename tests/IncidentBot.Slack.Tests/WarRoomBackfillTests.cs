using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// What was said in a channel before it became a war room is read back into the timeline (since the incident was
/// declared, bounded, threads and pins included), and a pin that arrived before its message was captured still holds.
/// </summary>
public abstract class WarRoomBackfillTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const string Ann = "UANN00001";
    private const string Bob = "UBOB00001";
    private const string Carol = "UCAROL001";

    private readonly TDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Link_ChannelPeopleTalkedIn_ReadsBackSinceDeclaredWithThreadsAndPins()
    {
        await using var host = SlackHost.Start(_database, _slack);
        var incident = await DeclareAsync(host, "declare sev2 Ledger drift");
        var team = _slack.AddChannel("team-payments");
        var yesterday = _slack.PostUserMessage(team.Id, Ann, "unrelated chat from yesterday", at: DateTimeOffset.UtcNow.AddDays(-1));
        var first = _slack.PostUserMessage(team.Id, Ann, "ledger totals are off by 3%");
        var reply1 = _slack.PostUserMessage(team.Id, Bob, "since the 14:00 batch?", threadTs: first);
        var reply2 = _slack.PostUserMessage(team.Id, Ann, "yes, exactly then", threadTs: first);
        var pinned = _slack.PostUserMessage(team.Id, Carol, "paused the ledger job");
        _slack.AddUserReaction(team.Id, pinned, Bob, "pushpin");
        var bot = _slack.PostUserMessage(team.Id, FakeSlackServer.BotUserId, "a bot's own post");

        await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Ann, "ann", team.Id));

        var timeline = await host.WaitForTimelineAsync(
            incident.Id, t => t.Count(e => e.Source?.Channel == team.Id) == 4 && t.Any(e => e.Source?.MessageId == pinned && e.Pinned), "four messages read back, one pinned");
        var readBack = timeline.Where(e => e.Source?.Channel == team.Id).ToList();
        Assert.Equal([first, reply1, reply2, pinned], readBack.Select(e => e.Source!.MessageId));
        Assert.Equal("ledger totals are off by 3%", readBack[0].Text);
        Assert.DoesNotContain(timeline, e => e.Source?.MessageId == yesterday || e.Source?.MessageId == bot);
        Assert.Equal([pinned], timeline.Where(e => e.Pinned).Select(e => e.Source!.MessageId));
        await FakeSlackServer.WaitUntilAsync(() => team.Messages[pinned].Reactions.ContainsKey("white_check_mark"), "the pin confirmed");
    }

    [Fact]
    public async Task Link_MoreThanAPageSaidBeforeTheLimit_ReadsBackTheNewestUpToTheLimit()
    {
        await using var host = SlackHost.Start(_database, _slack, extra: new Dictionary<string, string?> { ["Slack:BackfillLimit"] = "230" });
        var incident = await DeclareAsync(host, "declare sev3 Busy channel");
        var busy = _slack.AddChannel("busy");
        var said = Enumerable.Range(1, 240).Select(i => _slack.PostUserMessage(busy.Id, Ann, $"line {i}")).ToList();

        await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Ann, "ann", busy.Id));

        await FakeSlackServer.WaitUntilAsync(() => _slack.CallsTo("conversations.history").Count(c => c.Arg("channel") == busy.Id) == 2, "two history pages");
        var timeline = await host.WaitForTimelineAsync(incident.Id, t => t.Count(e => e.Source?.Channel == busy.Id) >= 230, "230 read-back messages");
        Assert.Equal(said.Skip(10), timeline.Where(e => e.Source?.Channel == busy.Id).Select(e => e.Source!.MessageId));
        Assert.Equal(2, _slack.CallsTo("conversations.history").Count(c => c.Arg("channel") == busy.Id));
    }

    [Fact]
    public async Task Pin_ArrivesBeforeItsMessageIsCaptured_StillPinned()
    {
        await using var host = SlackHost.Start(_database, _slack);
        var incident = await DeclareAsync(host, "declare sev2 Slow checkout");
        var room = incident.WarRooms.Single().Channel;
        // Slack's lane of this incident is busy with a post Slack is slow to answer, so the pin is confirmed late.
        var release = new TaskCompletionSource();
        var posts = _slack.CallsTo("chat.postMessage").Count;
        _slack.Script("chat.postMessage", new SlackFault(Hold: release.Task));
        await host.Transport.CommandAsync(SlackPayloads.Command("sev 1", Ann, "ann", room));
        await _slack.WaitForCallsAsync("chat.postMessage", posts + 1);

        var ts = _slack.PostUserMessage(room, Carol, "the payment provider is timing out");
        _slack.AddUserReaction(room, ts, Bob, "pushpin");
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Reaction(true, Bob, "pushpin", room, ts)));
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room, Carol, ts, "the payment provider is timing out")));
        Assert.False((await host.Store.FindBySourceAsync(new MessageRef("slack", room, ts), default))!.Pinned);
        release.SetResult();

        await host.WaitForTimelineAsync(incident.Id, t => t.Any(e => e.Source?.MessageId == ts && e.Pinned), "the pin to hold");
    }

    private async Task<Incident> DeclareAsync(SlackHost host, string text)
    {
        await host.Transport.CommandAsync(SlackPayloads.Command(text, Ann, "ann", _general.Id));
        return await host.WaitForWarRoomAsync(new IncidentNumber(1));
    }
}

public sealed class SqliteWarRoomBackfillTests : WarRoomBackfillTests<SqliteTestDatabase>;

public sealed class PostgresWarRoomBackfillTests : WarRoomBackfillTests<PostgresTestDatabase>;
