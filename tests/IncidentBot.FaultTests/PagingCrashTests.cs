using System.Data.Common;
using System.Diagnostics;
using Dapper;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// <c>kill -9</c> of the bot while a page is being sent or a reminder is firing, on each store: after a restart on the
/// same database the page reaches the provider (under the key it had, so the provider dedupes) and the reminder comes.
/// </summary>
public abstract class PagingCrashTests<TDatabase>(ITestOutputHelper output) : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private readonly TDatabase _database = new();
    private PagingFaults _faults = null!;

    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_faults is not null)
        {
            await _faults.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task PageSend_KilledWhileTheProviderHoldsTheRequest_DeliveredAfterRestartUnderTheSameKey()
    {
        _faults = await PagingFaults.StartAsync(_database);
        _faults.PagerDuty.Hold();
        _faults.Webhook.Hold();
        var incident = await _faults.DeclareAsync(Severity.Sev1);
        await _faults.WaitUntilAsync(
            () => Task.FromResult(_faults.PagerDuty.Requests.Count >= 1 && _faults.Webhook.Requests.Count >= 1),
            "the level 1 page to reach PagerDuty and the webhook");

        await _faults.KillBotAsync();
        _faults.PagerDuty.Release();
        _faults.Webhook.Release();
        var killed = Stopwatch.StartNew();
        await _faults.StartBotAsync();
        var listening = killed.Elapsed;

        await _faults.WaitUntilAsync(
            async () => (await _faults.LedgerAsync(incident)).Where(r => r.Action == "trigger").ToList() is { Count: 2 } rows && rows.All(r => r.Status == "sent")
                && (await _faults.TimelineAsync(incident)).Count(e => e.Text.Contains("accepted the page", StringComparison.Ordinal)) == 2,
            "both level 1 pages to be recorded as sent after the restart");
        output.WriteLine($"{_database.Provider}: restarted and listening after {listening.TotalSeconds:0.0} s; both pages sent {killed.Elapsed.TotalSeconds:0.0} s after the kill (Paging:ClaimLease 3 s)");
        var triggers = _faults.PagerDuty.Events.Where(e => (string?)e["event_action"] == "trigger").ToList();
        Assert.True(triggers.Count >= 2, "the page was not sent again after the restart");
        Assert.All(triggers, e => Assert.Equal($"incidentbot-{incident.Number}", (string?)e["dedup_key"]));
        Assert.Equal([$"incidentbot-{incident.Number}"], _faults.PagerDuty.NotifiedKeys.ToArray());
        Assert.Single(_faults.Webhook.Requests.Select(r => r.Headers["webhook-id"]).Distinct());
        var timeline = await _faults.TimelineAsync(incident);
        Assert.Single(timeline, e => e.Kind == TimelineKind.Page && e.Text.StartsWith("pagerduty accepted the page for level 1", StringComparison.Ordinal));
        Assert.Single(timeline, e => e.Kind == TimelineKind.Page && e.Text.StartsWith("webhook accepted the page for level 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reminder_KilledWhileFiring_ComesAfterRestartOnce()
    {
        var cadence = TimeSpan.FromSeconds(4);
        _faults = await PagingFaults.StartAsync(_database, new Dictionary<string, string?> { ["Escalation:PageSeverities:0"] = "none" }, cadence);
        var incident = await _faults.DeclareAsync(Severity.Sev1);
        await _faults.WaitUntilAsync(async () => await TriggerCountAsync($"reminder-{incident.Id}") == 1, "the reminder to be scheduled");

        // The store is held so the firing cannot finish: the reminder's write waits behind the test's lock.
        await using (var blocker = await _faults.OpenAsync())
        await using (var transaction = await BlockAsync(blocker, incident))
        {
            await WaitUntilFiringAsync(incident.NextUpdateDueAt!.Value);
            await _faults.KillBotAsync();
            await transaction.RollbackAsync();
        }

        var restarted = Stopwatch.StartNew();
        await _faults.StartBotAsync();

        await _faults.WaitUntilAsync(
            async () => (await _faults.TimelineAsync(incident)).Any(e => e.Text.StartsWith("Status update overdue", StringComparison.Ordinal)),
            "the overdue reminder after the restart");
        output.WriteLine($"{_database.Provider}: the reminder came {restarted.Elapsed.TotalSeconds:0.0} s after the restart began");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var reminders = (await _faults.TimelineAsync(incident)).Where(e => e.Text.StartsWith("Status update", StringComparison.Ordinal)).ToList();
        Assert.Single(reminders, e => e.Text.Contains($"due {incident.NextUpdateDueAt:HH:mm:ss}", StringComparison.Ordinal));
    }

    private async Task<DbTransaction> BlockAsync(DbConnection connection, Incident incident)
    {
        if (_database.Provider == DatabaseProvider.Postgres)
        {
            var transaction = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync("SELECT id FROM incidents WHERE id = @Id FOR UPDATE", new { incident.Id }, transaction);
            return transaction;
        }

        // BEGIN IMMEDIATE: the write lock, so every write of the bot waits.
        return ((Microsoft.Data.Sqlite.SqliteConnection)connection).BeginTransaction(deferred: false);
    }

    private async Task WaitUntilFiringAsync(DateTimeOffset dueAt)
    {
        if (_database.Provider == DatabaseProvider.Postgres)
        {
            // The reminder's update of the incident row waits for the test's row lock.
            await _faults.WaitUntilAsync(
                async () =>
                {
                    await using var connection = new Npgsql.NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
                    await connection.OpenAsync();
                    return await connection.ExecuteScalarAsync<long>(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0;
                },
                "the reminder to fire and wait for the incident's row");
            return;
        }

        // SQLite cannot show who waits; the scheduler fires on time, and its own write waits too.
        var wait = dueAt + TimeSpan.FromSeconds(1.5) - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    private async Task<long> TriggerCountAsync(string name)
    {
        await using var connection = await _faults.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM qrtz_triggers WHERE trigger_name = @Name", new { Name = name });
    }
}

[Collection(OneFaultAtATime.Name)]
public sealed class SqlitePagingCrashTests(ITestOutputHelper output) : PagingCrashTests<SqliteTestDatabase>(output);

[Collection(OneFaultAtATime.Name)]
public sealed class PostgresPagingCrashTests(ITestOutputHelper output) : PagingCrashTests<PostgresTestDatabase>(output);
