using System.Diagnostics;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Processes;
using IncidentBot.TestKit.Slack;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// <c>kill -9</c> at the moments that used to hold a war room back for minutes: right after the declare's ack, while
/// Slack is creating the channel, and between the channel being created and linked. After a restart the war room is
/// whole within 15 s of the kill, with exactly one channel, and it captures what people say.
/// </summary>
public abstract class WarRoomCrashTests<TDatabase>(ITestOutputHelper output) : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    /// <summary>The reliability figure we hold ourselves to (DESIGN §5): pending war-room work resumes within 15 s.</summary>
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(15);

    private readonly TDatabase _database = new();
    private OutboxFaults _faults = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _faults = await OutboxFaults.CreateAsync(_database, output);
    }

    public async Task DisposeAsync()
    {
        await _faults.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Kill_RightAfterDeclareAck_WarRoomWithinSecondsOfTheKill()
    {
        var first = await _faults.StartBotAsync();
        // Slack takes a while to create the channel, so the kill lands while the declare is being worked on.
        _faults.Slack.Script("conversations.create", new SlackFault(Hold: Task.Delay(TimeSpan.FromSeconds(2))));

        var number = await _faults.DeclareAsync("declare sev1 Checkout is down");
        await OutboxFaults.WaitUntilAsync(async () => await _faults.ClaimedDeliveriesAsync() > 0, "the declare's delivery to be claimed", TimeSpan.FromSeconds(10));
        await _faults.KillAsync(first);

        await AssertRecoversAsync(number, Stopwatch.StartNew());
    }

    [Fact]
    public async Task Kill_WhileConversationsCreateInFlight_OneChannelLinkedWithinSeconds()
    {
        // Slack creates the channel, but its answer never reaches the bot.
        var release = new TaskCompletionSource();
        _faults.Slack.Script("conversations.create", new SlackFault(Hold: release.Task));
        var first = await _faults.StartBotAsync();

        var number = await _faults.DeclareAsync("declare sev1 Login broken");
        await _faults.Slack.WaitForCallsAsync("conversations.create", 1);
        await _faults.KillAsync(first);
        var sinceKill = Stopwatch.StartNew();
        release.SetResult();

        await AssertRecoversAsync(number, sinceKill);
    }

    [Fact]
    public async Task Kill_BetweenCreateAndLink_OneChannelLinkedWithinSeconds()
    {
        BotProcess? first = null;
        var sinceKill = new Stopwatch();
        _faults.Slack.AfterAnswer("conversations.create", async (_, _) =>
        {
            _faults.Slack.AfterAnswer("conversations.create", null);
            await _faults.KillAsync(first!);
            sinceKill.Start();
        });
        first = await _faults.StartBotAsync();

        var number = await _faults.DeclareAsync("declare sev2 Payments lagging");
        await OutboxFaults.WaitUntilAsync(() => Task.FromResult(first.HasExited), "the kill right after conversations.create answered", TimeSpan.FromSeconds(20));

        await AssertRecoversAsync(number, sinceKill);
    }

    /// <summary>Restarts the bot and checks the war room is whole within <see cref="Target"/> of the kill, made once, and working.</summary>
    private async Task AssertRecoversAsync(IncidentNumber number, Stopwatch sinceKill)
    {
        await _faults.StartBotAsync();
        _faults.Log($"restarted {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");

        var room = await _faults.WaitForWarRoomAsync(number, Target - sinceKill.Elapsed);
        var recovered = sinceKill.Elapsed;
        _faults.Log($"{_database.Provider}: war room of {number} whole {recovered.TotalSeconds:0.0} s after the kill");

        Assert.Single(_faults.ChannelsOf(number));
        Assert.Equal(new ChatSpace("slack", room.Id), (await _faults.IncidentAsync(number)).WarRooms.Single());
        await _faults.AssertCapturesAsync(number, room, TimeSpan.FromSeconds(5));
        Assert.Single(room.Messages.Values, m => m.User == FakeSlackServer.BotUserId && m.Text.StartsWith($"{number} (", StringComparison.Ordinal));
        Assert.True(recovered <= Target, $"recovered {recovered.TotalSeconds:0.0} s after the kill");
    }
}

[Collection(OneFaultAtATime.Name)]
public sealed class SqliteWarRoomCrashTests(ITestOutputHelper output) : WarRoomCrashTests<SqliteTestDatabase>(output);

[Collection(OneFaultAtATime.Name)]
public sealed class PostgresWarRoomCrashTests(ITestOutputHelper output) : WarRoomCrashTests<PostgresTestDatabase>(output);
