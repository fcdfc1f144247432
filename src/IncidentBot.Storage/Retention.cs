using Dapper;
using IncidentBot.Core.Application;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage;

/// <summary>How long finished work is kept (<c>Retention:*</c>), so the database stops growing with traffic.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>
    /// Delivered outbox messages and their delivery records, records of war-room posts made, Teams conversations no
    /// incident uses, the page ledger of incidents resolved this long ago, and pager webhook receipts (keep this longer
    /// than <c>Paging:PagerDuty:WebhookMaxAge</c>: a receipt stops a replay of an event not yet refused as stale).
    /// </summary>
    public TimeSpan Age { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Slack event and Teams activity receipts (they only stop redeliveries; Slack retries for a day at most).</summary>
    public TimeSpan ReceiptAge { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How often the pruner runs (also once shortly after start).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement; each table is pruned batch by batch, so no statement holds locks for long.</summary>
    public int BatchSize { get; set; } = 1000;
}

internal sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RetentionOptions options)
    {
        var failures = new List<string>();
        if (options.Age < TimeSpan.FromDays(1))
        {
            failures.Add("Retention:Age must be at least 1.00:00:00, such as 30.00:00:00");
        }

        if (options.ReceiptAge < TimeSpan.FromHours(25))
        {
            failures.Add("Retention:ReceiptAge must be at least 1.01:00:00 (Slack retries an event for up to a day), such as 2.00:00:00");
        }

        if (options.Interval < TimeSpan.FromMinutes(1) || options.Interval > TimeSpan.FromDays(1))
        {
            failures.Add("Retention:Interval must be between 00:01:00 and 1.00:00:00, such as 01:00:00");
        }

        if (options.BatchSize is < 10 or > 100_000)
        {
            failures.Add("Retention:BatchSize must be between 10 and 100000");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What one pass of the <see cref="RetentionPruner"/> deleted, per table.</summary>
public sealed record PruneReport(IReadOnlyDictionary<string, int> Deleted)
{
    public int Total => Deleted.Values.Sum();

    public override string ToString() => string.Join(", ", Deleted.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value}"));
}

/// <summary>
/// The one pruner of finished work, for every table that grows with traffic: never anything still pending (an outbox
/// message with a delivery to make, a page being sent), never what an open incident needs (its page ledger, the
/// conversation reference of its Teams war room). Incidents, timelines, roles, war rooms and cards are kept.
/// </summary>
public sealed partial class RetentionPruner(
    IDbConnectionFactory database,
    IEnumerable<TableSet> tableSets,
    TimeProvider time,
    IOptions<RetentionOptions> options,
    ILogger<RetentionPruner> logger) : BackgroundService
{
    private static readonly TimeSpan FirstPassAfter = TimeSpan.FromMinutes(1);

    // A pass stops after this many batches of one table and carries on at the next, so it never runs for long.
    private const int MaxBatchesPerTable = 100;

    static RetentionPruner() => TypeHandlers.EnsureRegistered();

    /// <summary>Deletes what is past its age, batch by batch.</summary>
    public async Task<PruneReport> PruneAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var before = now - settings.Age;
        var receiptsBefore = now - settings.ReceiptAge;
        var deleted = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["outbox"] = await RepeatAsync(() => PruneOutboxAsync(before, settings.BatchSize, cancellationToken), settings.BatchSize),
        };
        foreach (var rule in tableSets.SelectMany(s => s.Retention))
        {
            var cutoff = rule.Age == RetentionAge.Receipts ? receiptsBefore : before;
            deleted[rule.Table] = await RepeatAsync(() => ExecuteAsync(rule.DeleteBatchSql, cutoff, settings.BatchSize, cancellationToken), settings.BatchSize);
        }

        return new PruneReport(deleted);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        BackgroundWork.Enter();
        await Task.Delay(FirstPassAfter, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var report = await PruneAsync(stoppingToken);
                if (report.Total > 0)
                {
                    LogPruned(logger, report.Total, report);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }

            await Task.Delay(options.Value.Interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async Task<int> RepeatAsync(Func<Task<int>> batch, int batchSize)
    {
        var total = 0;
        for (var i = 0; i < MaxBatchesPerTable; i++)
        {
            var deleted = await batch();
            total += deleted;
            if (deleted < batchSize)
            {
                break;
            }
        }

        return total;
    }

    private Task<int> ExecuteAsync(string sql, DateTimeOffset before, int batchSize, CancellationToken cancellationToken) =>
        database.RunAsync(
            connection => connection.ExecuteAsync(new CommandDefinition(sql, new { Before = before, Batch = batchSize }, cancellationToken: cancellationToken)),
            cancellationToken);

    /// <summary>
    /// Messages fanned out (or, before lanes, failed) before the cutoff whose every delivery is done or given up, with
    /// those deliveries: one transaction per batch, deliveries first (they reference the message).
    /// </summary>
    private Task<int> PruneOutboxAsync(DateTimeOffset before, int batchSize, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection =>
            {
                await using var transaction = await connection.BeginWriteAsync(cancellationToken);
                var ids = (await connection.QueryAsync<long>(new CommandDefinition(
                    FinishedMessagesSql, new { Before = before, Batch = batchSize }, transaction, cancellationToken: cancellationToken))).ToArray();
                if (ids.Length > 0)
                {
                    var inIds = database.Dialect().InList("Ids");
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"DELETE FROM outbox_deliveries WHERE message_id {inIds}", new { Ids = ids }, transaction, cancellationToken: cancellationToken));
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"DELETE FROM outbox WHERE id {inIds}", new { Ids = ids }, transaction, cancellationToken: cancellationToken));
                }

                await transaction.CommitAsync(cancellationToken);
                return ids.Length;
            },
            cancellationToken);

    // In id order, so the oldest (the ones to go) are found first and a batch stops early.
    private const string FinishedMessagesSql = """
        SELECT o.id FROM outbox o
        WHERE ((o.delivered_at IS NOT NULL AND o.delivered_at < @Before) OR (o.failed_at IS NOT NULL AND o.failed_at < @Before))
          AND NOT EXISTS (
            SELECT 1 FROM outbox_deliveries d
            WHERE d.message_id = o.id AND d.done_at IS NULL AND d.failed_at IS NULL)
        ORDER BY o.id
        LIMIT @Batch
        """;

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} rows past their age ({Tables})")]
    private static partial void LogPruned(ILogger logger, int count, PruneReport tables);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention pass failed; trying again at the next one")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
