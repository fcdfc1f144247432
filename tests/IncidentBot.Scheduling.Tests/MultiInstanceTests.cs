using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Processes;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// Several instances (separate processes) clustered on one PostgreSQL database: each reminder fires exactly once,
/// a killed instance's reminders fire on another, and a full restart loses none.
/// </summary>
public sealed class MultiInstanceTests : IAsyncLifetime
{
    private const int Incidents = 24;
    private static readonly TimeSpan Cadence = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly Actor Ann = new(new Person("chat", "U1", "Ann"));

    private readonly PostgresTestDatabase _database = new();
    private readonly List<BotProcess> _instances = [];
    private readonly string _cluster = $"cluster-{Guid.NewGuid():N}";
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        // This process only declares and reads; the instances do the scheduling.
        _services = _database.CreateServices(b => b.AddIncidentEngine(), new Dictionary<string, string?> { ["Reminders:Sev1"] = Cadence.ToString("c", System.Globalization.CultureInfo.InvariantCulture) });
    }

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Reminders_ThreeInstancesOneKilledThenAllRestarted_EachFiresExactlyOnce()
    {
        await StartInstancesAsync(3);
        // Each instance checks in under an id of its own; were they one ("AUTO"), none would see another die.
        await WaitUntilCheckedInAsync(3);
        var incidents = new List<Incident>();
        for (var i = 0; i < Incidents; i++)
        {
            incidents.Add((await _services.GetRequiredService<IncidentService>().DeclareAsync(new DeclareRequest($"Outage {i}", Severity.Sev1), Ann, default)).Incident);
        }

        // A crash mid-way: every timer is scheduled (the declare events are handled), none has fired yet, and the
        // first instance holds some of them (it scheduled or acquired them). A crash with outbox events still leased
        // would delay their scheduling by the outbox lease; that is the outbox's contract, not the scheduler's.
        await WaitUntilOutboxDeliveredAsync();
        await _instances[0].KillAsync();

        await WaitForRemindersAsync(incidents, missed: 1);
        AssertExactlyOnce(await RemindersAsync(incidents));

        // Everyone down while the second reminders come due, then a fresh pair of instances.
        foreach (var instance in _instances)
        {
            await instance.KillAsync();
        }

        // Separate processes keep real time: wait until every second reminder is due before starting again.
        var secondDue = incidents.Max(i => i.DeclaredAt) + (2 * Cadence);
        await Eventually.HoldsAsync(() => DateTimeOffset.UtcNow > secondDue, "the second reminders coming due", Cadence * 3);
        await StartInstancesAsync(2);

        await WaitForRemindersAsync(incidents, missed: 2);
        AssertExactlyOnce(await RemindersAsync(incidents));
    }

    private async Task StartInstancesAsync(int count)
    {
        var started = Enumerable.Range(0, count).Select(_ => BotProcess.Start(new Dictionary<string, string?>
        {
            ["Database__Provider"] = "Postgres",
            ["ConnectionStrings__IncidentBot"] = _database.ConnectionString,
            ["Scheduler__Name"] = _cluster,
            ["Scheduler__IdleWaitTime"] = "00:00:01",
            ["Scheduler__ClusterCheckinInterval"] = "00:00:01",
            ["Reminders__Sev1"] = "00:00:05",
            ["Reminders__CommanderMissingAfter"] = "",
            ["Escalation__PageSeverities__0"] = "none",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        })).ToList();
        _instances.AddRange(started);
        await Task.WhenAll(started.Select(s => s.WaitUntilListeningAsync(StartTimeout)));
    }

    private async Task WaitUntilCheckedInAsync(int instances)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        var checkedIn = new List<string>();
        await Eventually.HoldsAsync(
            async () =>
            {
                checkedIn.Clear();
                await using var command = new Npgsql.NpgsqlCommand("SELECT DISTINCT sched_name || '/' || instance_name FROM qrtz_scheduler_state", connection);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    checkedIn.Add(reader.GetString(0));
                }

                return checkedIn.Count(c => c.StartsWith(_cluster + "/", StringComparison.Ordinal)) == instances;
            },
            $"{instances} scheduler instances of {_cluster} checked in",
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(100));
    }

    private async Task WaitUntilOutboxDeliveredAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await Eventually.HoldsAsync(
            async () =>
            {
                // Not yet fanned out into per-handler lanes, or fanned out and not yet delivered by every handler.
                await using var command = new Npgsql.NpgsqlCommand(
                    """
                    SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL)
                        + (SELECT count(*) FROM outbox_deliveries WHERE done_at IS NULL AND failed_at IS NULL)
                    """,
                    connection);
                return (long)(await command.ExecuteScalarAsync())! == 0;
            },
            "the instances handling the declare events",
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(100));
    }

    private async Task<Dictionary<IncidentNumber, List<string>>> RemindersAsync(IEnumerable<Incident> incidents)
    {
        var store = _services.GetRequiredService<IIncidentStore>();
        var result = new Dictionary<IncidentNumber, List<string>>();
        foreach (var incident in incidents)
        {
            result[incident.Number] = (await store.GetTimelineAsync(incident.Id, default))
                .Where(e => e.Kind == TimelineKind.System && e.Text.StartsWith("Status update", StringComparison.Ordinal))
                .Select(e => e.Text)
                .ToList();
        }

        return result;
    }

    private async Task WaitForRemindersAsync(IReadOnlyList<Incident> incidents, int missed)
    {
        await Eventually.HoldsAsync(
            async () => (await RemindersAsync(incidents)).All(r => r.Value.Count >= missed),
            $"reminder {missed} of every incident",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(250));
    }

    /// <summary>Every reminder text is unique per due time (the first names it) or per missed count, so a repeat is a double firing.</summary>
    private static void AssertExactlyOnce(Dictionary<IncidentNumber, List<string>> reminders)
    {
        foreach (var (number, texts) in reminders)
        {
            var repeated = texts.GroupBy(t => t).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            Assert.True(repeated.Count == 0, $"{number} was reminded twice: {string.Join(" | ", repeated)}");
        }
    }
}
