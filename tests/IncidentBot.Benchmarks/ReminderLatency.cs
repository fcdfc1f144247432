using System.Diagnostics;
using System.Globalization;
using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace IncidentBot.Benchmarks;

/// <summary>
/// Reminder lateness on PostgreSQL: declares N SEV1 incidents at a steady rate against running host instances
/// (separate processes, clustered Quartz), then reads, for every first reminder, the time it was due, the time the
/// scheduler recorded it (outbox row created) and the time it was delivered to the front-ends (the post).
/// Needs INCIDENTBOT_TEST_POSTGRES. Options: --incidents 10000 --rate 25 --cadence 420 --instances 1. The defaults
/// declare all 10,000 before the first reminder comes due, which then come due at the declaration rate: 25 a second,
/// twice what 10,000 open SEV1 incidents on the 15-minute cadence ask for (11 a second).
/// </summary>
public sealed class ReminderLatencyBenchmark : IBenchmark
{
    public string Name => "reminder-latency";

    public string Description => "p50/p99 from reminder due time to post, N open incidents on PostgreSQL";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var incidents = BenchmarkArguments.Int(args, "--incidents", 10_000);
        var rate = BenchmarkArguments.Int(args, "--rate", 25);
        var cadence = TimeSpan.FromSeconds(BenchmarkArguments.Int(args, "--cadence", 420));
        var instanceCount = BenchmarkArguments.Int(args, "--instances", 1);

        await using var database = new PostgresTestDatabase();
        await database.InitializeAsync();
        await using var services = database.CreateServices(b => b.AddIncidentEngine(), new Dictionary<string, string?> { ["Reminders:Sev1"] = cadence.ToString("c", System.Globalization.CultureInfo.InvariantCulture) });
        var settings = new Dictionary<string, string?>
        {
            // One name for all the instances, so they form one Quartz cluster.
            ["Scheduler__Name"] = "benchmark",
            ["Scheduler__IdleWaitTime"] = "00:00:01",
            ["Reminders__Sev1"] = cadence.ToString("c", CultureInfo.InvariantCulture),
            ["Reminders__CommanderMissingAfter"] = "",
            ["Escalation__PageSeverities__0"] = "none",
        };
        var instances = Enumerable.Range(0, instanceCount).Select(_ => BenchmarkHost.Start(database, settings)).ToList();
        try
        {
            await Task.WhenAll(instances.Select(i => i.WaitUntilReadyAsync(cancellationToken)));
            Console.WriteLine($"{instanceCount} instance(s) up; declaring {incidents} SEV1 incidents at {rate}/s, cadence {cadence}");

            var service = services.GetRequiredService<IncidentService>();
            var actor = new Actor(new Person("bench", "U1", "Bench"));
            var clock = Stopwatch.StartNew();
            var declared = 0;
            await Parallel.ForAsync(0, incidents, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (i, ct) =>
            {
                var wait = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }

                await service.DeclareAsync(new DeclareRequest($"Benchmark outage {i}", Severity.Sev1), actor, ct);
                Interlocked.Increment(ref declared);
            });
            Console.WriteLine($"declared {declared} in {clock.Elapsed.TotalSeconds:F1} s; waiting for the first reminders");

            var deadline = DateTime.UtcNow + cadence + clock.Elapsed + TimeSpan.FromMinutes(5);
            long delivered;
            do
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                delivered = await ScalarAsync(database.ConnectionString, PostedRemindersSql, cancellationToken);
                Console.WriteLine($"  {delivered}/{incidents} reminders posted");
            }
            while (delivered < incidents && DateTime.UtcNow < deadline);

            var (fired, posted) = await LatenessAsync(database.ConnectionString, cancellationToken);
            Console.WriteLine($"reminder lateness, due -> scheduler fired: {fired.Describe()}");
            Console.WriteLine($"reminder lateness, due -> posted (delivered to front-ends): {posted.Describe()}");
            var duplicates = await ScalarAsync(database.ConnectionString, "SELECT count(*) - count(DISTINCT (incident_id, payload->>'dueAt')) FROM outbox WHERE event_type = 'update_reminder_due'", cancellationToken);
            Console.WriteLine($"duplicate reminders: {duplicates}; missing: {incidents - delivered}");
            return delivered == incidents && duplicates == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    private static async Task<(LatencyStats Fired, LatencyStats Posted)> LatenessAsync(string connectionString, CancellationToken cancellationToken)
    {
        // Posted: the last of the message's per-handler deliveries done (see docs/decisions/0003).
        const string sql = """
            SELECT EXTRACT(EPOCH FROM o.created_at - (o.payload->>'dueAt')::timestamptz) * 1000,
                   EXTRACT(EPOCH FROM (SELECT max(d.done_at) FROM outbox_deliveries d WHERE d.message_id = o.id) - (o.payload->>'dueAt')::timestamptz) * 1000
            FROM outbox o
            WHERE o.event_type = 'update_reminder_due' AND (o.payload->>'missed')::int = 1 AND o.delivered_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.message_id = o.id AND d.done_at IS NULL)
            """;
        var fired = new List<TimeSpan>();
        var posted = new List<TimeSpan>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            fired.Add(TimeSpan.FromMilliseconds((double)reader.GetDecimal(0)));
            posted.Add(TimeSpan.FromMilliseconds((double)reader.GetDecimal(1)));
        }

        return (new LatencyStats(fired), new LatencyStats(posted));
    }

    // Fanned out to the handlers' lanes, and every handler done with it.
    private const string PostedRemindersSql = """
        SELECT count(*) FROM outbox o
        WHERE o.event_type = 'update_reminder_due' AND (o.payload->>'missed')::int = 1 AND o.delivered_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.message_id = o.id AND d.done_at IS NULL)
        """;

    private static async Task<long> ScalarAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }
}
