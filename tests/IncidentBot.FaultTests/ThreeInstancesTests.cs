using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Slack;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// Three instances with the default connection budget on a PostgreSQL left as installed (<c>max_connections = 100</c>),
/// directly and through PgBouncer in transaction mode, each instance taking requests in turn (no load balancer, round
/// robin): declares, talk in every war room, and a burst of reminders all due within seconds. No instance is refused a
/// connection, every acknowledged request is stored, every reminder fires once.
/// </summary>
[Collection(OneFaultAtATime.Name)]
public sealed class ThreeInstancesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Instances = 3;
    private const int Incidents = 24;
    private const int MessagesPerRoom = 4;
    private const string TooManyClients = "too many clients";

    private RestartablePostgres _server = null!;

    public async Task InitializeAsync() => _server = await RestartablePostgres.StartAsync(maxConnections: 100);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public Task StockPostgres_ThreeInstancesUnderLoad_NoTooManyClientsNothingLostRemindersOnce() => RunAsync(bouncer: null);

    [Fact]
    public async Task ThroughPgBouncerTransactionMode_ThreeInstancesUnderLoad_NoTooManyClientsNothingLostRemindersOnce()
    {
        await using var bouncer = await PgBouncer.StartAsync(_server);
        await RunAsync(bouncer);
        var log = await File.ReadAllTextAsync(bouncer.LogFile);
        Assert.DoesNotContain("no more connections allowed", log, StringComparison.OrdinalIgnoreCase);
    }

    private async Task RunAsync(PgBouncer? bouncer)
    {
        var clock = Stopwatch.StartNew();
        var database = new ServerDatabase(_server) { Migrate = false };
        await database.InitializeAsync();
        var settings = new Dictionary<string, string?>
        {
            // Every incident is reminded seconds after it is declared, all within a few seconds of each other.
            ["Reminders__Sev1"] = "00:00:08",
            ["Reminders__CommanderMissingAfter"] = "",
            ["Logging__LogLevel__IncidentBot"] = "Information",
        };
        if (bouncer is not null)
        {
            settings["ConnectionStrings__IncidentBot"] = bouncer.Through(database.ConnectionString);
            // LISTEN needs a session of its own: straight to PostgreSQL.
            settings["Database__ListenConnectionString"] = database.ConnectionString;
        }

        await using var faults = await OutboxFaults.CreateAsync(database, output, settings);
        // The first migrates the empty database; the others start together once it has.
        IReadOnlyList<Uri> bots = [.. await faults.StartBotsAsync(1), .. await faults.StartBotsAsync(Instances - 1)];
        faults.Slack.DeliverEventsTo(bots, SlackSigner.TestSecret);
        faults.Log($"{Instances} instances ready after {clock.Elapsed.TotalSeconds:0.0} s{(bouncer is null ? "" : " (through PgBouncer)")}");

        // Declares, each instance in turn; every one acknowledged must be stored.
        var numbers = await Task.WhenAll(Enumerable.Range(0, Incidents).Select(i => faults.DeclareAsync($"declare sev1 Load test {i}", bots[i % Instances])));
        foreach (var number in numbers)
        {
            Assert.Equal($"Load test {Array.IndexOf(numbers, number)}", (await faults.IncidentAsync(number)).Title);
        }

        var rooms = new Dictionary<IncidentNumber, FakeChannel>();
        foreach (var number in numbers)
        {
            rooms[number] = await faults.WaitForWarRoomAsync(number, TimeSpan.FromSeconds(30));
        }

        faults.Log($"{Incidents} war rooms whole after {clock.Elapsed.TotalSeconds:0.0} s");

        // Talk in every war room at once; each message is acknowledged by whichever instance Slack reached.
        var said = new ConcurrentBag<(IncidentNumber Number, string Ts)>();
        await Task.WhenAll(numbers.Select(async number =>
        {
            for (var m = 1; m <= MessagesPerRoom; m++)
            {
                said.Add((number, await faults.Slack.SayAsync(rooms[number].Id, OutboxFaults.Carol, $"Observation {m} in {number}")));
            }
        }));

        foreach (var number in numbers)
        {
            var expected = said.Where(s => s.Number == number).Select(s => s.Ts).ToList();
            IReadOnlyList<TimelineEntry> timeline = [];
            await OutboxFaults.WaitUntilAsync(
                async () =>
                {
                    timeline = await faults.TimelineAsync(number);
                    return expected.All(ts => timeline.Any(e => e.Source?.MessageId == ts))
                        && timeline.Any(e => e.Text.StartsWith("Status update overdue (due", StringComparison.Ordinal));
                },
                $"the messages and the first reminder of {number}",
                TimeSpan.FromSeconds(40));
            Assert.All(expected, ts => Assert.Single(timeline, e => e.Source?.MessageId == ts));
            Assert.Single(timeline, e => e.Text.StartsWith("Status update overdue (due", StringComparison.Ordinal));
        }

        faults.Log($"{said.Count} messages stored and {Incidents} reminders fired after {clock.Elapsed.TotalSeconds:0.0} s");
        foreach (var number in numbers)
        {
            var firstReminder = $"A status update for {number} is due.";
            await OutboxFaults.WaitUntilAsync(
                () => Task.FromResult(rooms[number].Messages.Values.Any(m => m.Text.Contains(firstReminder, StringComparison.Ordinal))),
                $"the first reminder of {number} in Slack",
                TimeSpan.FromSeconds(20));
            Assert.Single(rooms[number].Messages.Values, m => m.User == FakeSlackServer.BotUserId && m.Text.Contains(firstReminder, StringComparison.Ordinal));
        }

        using var http = new HttpClient();
        foreach (var bot in bots)
        {
            using var ready = JsonDocument.Parse(await http.GetStringAsync(new Uri(bot, "/readyz")));
            var pools = ready.RootElement.GetProperty("pools");
            faults.Log($"{bot} /readyz pools: {pools}");
            Assert.Equal(14, pools.GetProperty("store").GetProperty("max").GetInt32());
            Assert.Equal(5, pools.GetProperty("scheduler").GetProperty("max").GetInt32());
            Assert.Equal(11, pools.GetProperty("background").GetProperty("max").GetInt32());
            Assert.Equal(0, pools.GetProperty("store").GetProperty("timeouts").GetInt64());
        }

        Assert.All(faults.Bots, bot => Assert.DoesNotContain(TooManyClients, bot.Output, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(TooManyClients, await File.ReadAllTextAsync(_server.LogFile), StringComparison.OrdinalIgnoreCase);
        Assert.Empty(faults.Slack.HookFailures);
        faults.Log($"done after {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
