using System.Diagnostics;
using System.Collections.Concurrent;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// People talk in a war room from the moment Slack creates it: one person (a public channel: anyone can join) right
/// after <c>conversations.create</c> answered, another four times right after <c>conversations.invite</c> answered,
/// pinning one of those with 📌; and while Slack's Web API answers 503 for a while. Every message reaches the timeline,
/// once, and the pin holds.
/// </summary>
public abstract class WarRoomFirstSecondsTests<TDatabase>(ITestOutputHelper output) : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const int Runs = 5;

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
    public async Task Messages_RightAfterCreateAndInvite_AllCapturedAndPinHeld()
    {
        var said = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var pinned = new ConcurrentDictionary<string, string>();
        var slack = _faults.Slack;
        slack.AfterAnswer("conversations.create", async (_, answer) =>
        {
            var room = answer["channel"]!["id"]!.GetValue<string>();
            said.GetOrAdd(room, _ => []).Add(await slack.SayAsync(room, OutboxFaults.Carol, "Joining: I own the checkout service"));
        });
        slack.AfterAnswer("conversations.invite", async (call, _) =>
        {
            var room = call.Arg("channel")!;
            var messages = said.GetOrAdd(room, _ => []);
            string? second = null;
            for (var i = 1; i <= 4; i++)
            {
                var ts = await slack.SayAsync(room, OutboxFaults.Ann, $"Observation {i}: error rate {i * 10}%");
                messages.Add(ts);
                second ??= i == 2 ? ts : null;
            }

            await slack.ReactAsync(room, second!, OutboxFaults.Bob, "pushpin");
            pinned[room] = second!;
        });
        await _faults.StartBotAsync();

        var lost = 0;
        for (var run = 1; run <= Runs; run++)
        {
            var number = await _faults.DeclareAsync($"declare sev1 Checkout failing, run {run}");
            var room = await _faults.WaitForWarRoomAsync(number, TimeSpan.FromSeconds(20));
            await OutboxFaults.WaitUntilAsync(
                () => Task.FromResult(pinned.ContainsKey(room.Id) && said[room.Id].Count == 5), $"five messages and a pin in {number}'s war room", TimeSpan.FromSeconds(20));
            var expected = said[room.Id].ToHashSet();
            IReadOnlyList<TimelineEntry> timeline = [];
            try
            {
                await OutboxFaults.WaitUntilAsync(
                    async () =>
                    {
                        timeline = await _faults.TimelineAsync(number);
                        return expected.All(ts => timeline.Any(e => e.Source?.MessageId == ts)) && timeline.Any(e => e.Source?.MessageId == pinned[room.Id] && e.Pinned);
                    },
                    $"the five messages and the pin of {number}",
                    TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                // Counted and reported below, with every run's figures.
            }

            lost += expected.Count(ts => !timeline.Any(e => e.Source?.MessageId == ts));
            Assert.Equal(5, expected.Count);
            Assert.All(expected, ts => Assert.Single(timeline, e => e.Source?.MessageId == ts));
            Assert.True(timeline.Single(e => e.Source?.MessageId == pinned[room.Id]).Pinned, $"the pin in {number}'s war room was lost");
            Assert.Single(timeline, e => e.Pinned);
        }

        _faults.Log($"{_database.Provider}: {Runs} incidents, {Runs * 5} messages in the first seconds, {lost} lost");
        Assert.Equal(0, lost);
        Assert.Empty(slack.HookFailures);
    }

    [Fact]
    public async Task SlackOutageOfAMinute_RightAfterCreate_NothingLostAndWarRoomCompletesAfterRecovery()
    {
        var slack = _faults.Slack;
        var outage = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        slack.AfterAnswer("conversations.create", (_, answer) =>
        {
            slack.AfterAnswer("conversations.create", null);
            slack.OutageStatus = 503;
            outage.SetResult(answer["channel"]!["id"]!.GetValue<string>());
            return Task.CompletedTask;
        });
        await _faults.StartBotAsync();

        var number = await _faults.DeclareAsync("declare sev1 Database failover");
        var room = await outage.Task.WaitAsync(TimeSpan.FromSeconds(20));
        // Slack's Web API is down, its Events API is not: people talk in the new channel, and the IC posts an update.
        var said = new List<string>();
        for (var i = 1; i <= 3; i++)
        {
            said.Add(await slack.SayAsync(room, OutboxFaults.Carol, $"During the outage {i}: replica lag {i * 5}s"));
        }

        // In the war room: changes typed elsewhere are refused (Permissions:ChangesOnlyInWarRoom).
        await _faults.CommandAsync($"update {number} Failing over to the standby", room, OutboxFaults.Ann, "ann");
        // A minute of 503s, as in a real Slack incident, then recovery.
        var outageFor = Stopwatch.StartNew();
        await OutboxFaults.WaitUntilAsync(() => Task.FromResult(slack.OutageAnswers >= 4), "four calls refused by the outage", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromMinutes(1) - outageFor.Elapsed);
        slack.OutageStatus = null;
        var recovered = Stopwatch.StartNew();
        _faults.Log($"outage over after {slack.OutageAnswers} refused calls");

        var warRoom = await _faults.WaitForWarRoomAsync(number, TimeSpan.FromSeconds(60));
        await OutboxFaults.WaitUntilAsync(
            () => Task.FromResult(warRoom.Messages.Values.Any(m => m.User == FakeSlackServer.BotUserId && m.Text.Contains("Failing over to the standby", StringComparison.Ordinal))),
            "the update posted in the war room",
            TimeSpan.FromSeconds(30));
        _faults.Log($"war room complete {recovered.Elapsed.TotalSeconds:0.0} s after Slack recovered from a minute of 503s");
        var timeline = await _faults.TimelineAsync(number);
        Assert.All(said, ts => Assert.Single(timeline, e => e.Source?.MessageId == ts));
        Assert.Equal(room, warRoom.Id);
        Assert.Single(_faults.ChannelsOf(number));
        Assert.DoesNotContain(timeline, e => e.Kind == TimelineKind.System && e.Text.Contains("gave up", StringComparison.OrdinalIgnoreCase));
    }
}

[Collection(SlackOutage.Name)]
public sealed class SqliteWarRoomFirstSecondsTests(ITestOutputHelper output) : WarRoomFirstSecondsTests<SqliteTestDatabase>(output);

[Collection(SlackOutage.Name)]
public sealed class PostgresWarRoomFirstSecondsTests(ITestOutputHelper output) : WarRoomFirstSecondsTests<PostgresTestDatabase>(output);
