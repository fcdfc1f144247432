using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// <c>kill -9</c> while the group commit has batches in flight: many signed Slack message events at once into one war
/// room, the bot killed mid-stream. After a restart every message that was acknowledged (2xx) is in the timeline exactly
/// once, and Slack's retries of every message sent (acknowledged or not) store nothing twice.
/// </summary>
public abstract class GroupCommitCrashTests<TDatabase>(ITestOutputHelper output) : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private const int Senders = 32;
    private const int AckedBeforeKill = 300;

    private readonly TDatabase _database = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = Senders }) { Timeout = TimeSpan.FromSeconds(30) };
    private OutboxFaults _faults = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _faults = await OutboxFaults.CreateAsync(_database, output);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _faults.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Kill_WhileMessageBatchesCommit_EveryAckedMessageStoredOnceAndRetriesAddNone()
    {
        var first = await _faults.StartBotAsync();
        var number = await _faults.DeclareAsync("declare sev1 Everyone talking at once");
        var room = await _faults.WaitForWarRoomAsync(number, TimeSpan.FromSeconds(20));
        var signer = new SlackSigner(SlackSigner.TestSecret);
        var address = new Uri(_faults.BotAddress, "/slack/events");
        var sent = new ConcurrentDictionary<string, JsonObject>();
        var acked = new ConcurrentDictionary<string, bool>();
        var inFlightAtKill = -1;
        var inFlight = 0;
        var next = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task SendAsync()
        {
            while (!killed.Task.IsCompleted)
            {
                var n = Interlocked.Increment(ref next);
                var ts = string.Create(CultureInfo.InvariantCulture, $"1750000000.{n:D6}");
                var callback = SlackPayloads.EventCallback(SlackPayloads.Message(room.Id, OutboxFaults.Carol, ts, $"burst message {n}"));
                sent[ts] = callback;
                Interlocked.Increment(ref inFlight);
                try
                {
                    using var response = await _http.SendAsync(signer.Json(address.ToString(), callback));
                    if (response.IsSuccessStatusCode)
                    {
                        acked[ts] = true;
                        if (acked.Count >= AckedBeforeKill && Interlocked.CompareExchange(ref inFlightAtKill, Volatile.Read(ref inFlight) - 1, -1) == -1)
                        {
                            await _faults.KillAsync(first);
                            killed.TrySetResult();
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    // The bot died with this request in flight: not acknowledged, so Slack would retry it.
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Senders).Select(_ => Task.Run(SendAsync)));
        _faults.Log($"{_database.Provider}: {sent.Count} messages sent, {acked.Count} acknowledged, {inFlightAtKill} in flight at the kill");
        Assert.True(inFlightAtKill > 0, "the kill should land while messages are being written");

        await _faults.StartBotAsync();
        var timeline = await _faults.TimelineAsync(number);
        var stored = timeline.Where(e => e.Source is not null && sent.ContainsKey(e.Source.MessageId)).GroupBy(e => e.Source!.MessageId).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(acked.Keys, ts => Assert.True(stored.TryGetValue(ts, out var count) && count == 1, $"acknowledged message {ts} stored {stored.GetValueOrDefault(ts)} times"));
        Assert.All(stored, s => Assert.Equal(1, s.Value));

        // Slack retries every message it did not see acknowledged, and perhaps some it did.
        var retryAddress = new Uri(_faults.BotAddress, "/slack/events");
        await Parallel.ForEachAsync(sent, new ParallelOptions { MaxDegreeOfParallelism = Senders }, async (message, ct) =>
        {
            using var request = signer.Json(retryAddress.ToString(), message.Value);
            request.Headers.Add("X-Slack-Retry-Num", "1");
            request.Headers.Add("X-Slack-Retry-Reason", "http_error");
            using var response = await _http.SendAsync(request, ct);
            Assert.True(response.IsSuccessStatusCode, $"the retry of {message.Key} answered {(int)response.StatusCode}");
        });

        timeline = await _faults.TimelineAsync(number);
        var afterRetries = timeline.Where(e => e.Source is not null && sent.ContainsKey(e.Source.MessageId)).GroupBy(e => e.Source!.MessageId).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(sent.Keys.Order(StringComparer.Ordinal), afterRetries.Keys.Order(StringComparer.Ordinal));
        Assert.All(afterRetries, s => Assert.Equal(1, s.Value));
    }
}

[Collection(OneFaultAtATime.Name)]
public sealed class SqliteGroupCommitCrashTests(ITestOutputHelper output) : GroupCommitCrashTests<SqliteTestDatabase>(output);

[Collection(OneFaultAtATime.Name)]
public sealed class PostgresGroupCommitCrashTests(ITestOutputHelper output) : GroupCommitCrashTests<PostgresTestDatabase>(output);
