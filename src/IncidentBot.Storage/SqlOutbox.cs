using System.Text.Json;
using Dapper;
using IncidentBot.Core.Application;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Storage;

/// <summary><see cref="IOutbox"/> over the <c>outbox</c> table that <see cref="SqlIncidentStore"/> writes.</summary>
public sealed partial class SqlOutbox(IDbConnectionFactory database, TimeProvider time, ILogger<SqlOutbox> logger) : IOutbox
{
    static SqlOutbox() => TypeHandlers.EnsureRegistered();

    public async Task<IReadOnlyList<OutboxMessage>> ClaimAsync(int max, TimeSpan lease, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        if (max <= 0)
        {
            return [];
        }

        var now = time.GetUtcNow();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<OutboxRow>(new CommandDefinition(
            database.Provider == DatabaseProvider.Postgres ? ClaimPostgresSql : ClaimSqliteSql,
            new { Max = max, Now = now, LockedUntil = now + lease },
            cancellationToken: cancellationToken));

        var messages = new List<OutboxMessage>();
        foreach (var row in rows.OrderBy(r => r.Id))
        {
            try
            {
                messages.Add(new OutboxMessage(row.Id, EventJson.Deserialize(row.Payload), row.Attempts));
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                // Left pending, an unreadable message would block its incident's queue for good.
                LogUnreadable(logger, ex, row.Id, row.EventType);
                await FailAsync(row.Id, $"Unreadable {row.EventType} payload: {ex.Message}", cancellationToken);
            }
        }

        return messages;
    }

    private const string DueCondition = """
        o.delivered_at IS NULL AND o.failed_at IS NULL
        AND o.available_at <= @Now
        AND (o.locked_until IS NULL OR o.locked_until <= @Now)
        AND NOT EXISTS (
            SELECT 1 FROM outbox earlier
            WHERE earlier.incident_id = o.incident_id AND earlier.id < o.id
            AND earlier.delivered_at IS NULL AND earlier.failed_at IS NULL)
        """;

    private const string ClaimedColumns = "id AS Id, event_type AS EventType, payload AS Payload, attempts AS Attempts";

    // SKIP LOCKED: a row another instance is claiming right now is left to it, never claimed twice.
    private const string ClaimPostgresSql = $"""
        WITH due AS (
            SELECT o.id FROM outbox o
            WHERE {DueCondition}
            ORDER BY o.id
            LIMIT @Max
            FOR UPDATE SKIP LOCKED)
        UPDATE outbox SET locked_until = @LockedUntil, attempts = attempts + 1
        FROM due
        WHERE outbox.id = due.id
        RETURNING outbox.id AS Id, outbox.event_type AS EventType, outbox.payload::text AS Payload, outbox.attempts AS Attempts
        """;

    // SQLite runs one writer at a time, so the select and update cannot interleave with another claim.
    private const string ClaimSqliteSql = $"""
        UPDATE outbox SET locked_until = @LockedUntil, attempts = attempts + 1
        WHERE id IN (
            SELECT o.id FROM outbox o
            WHERE {DueCondition}
            ORDER BY o.id
            LIMIT @Max)
        RETURNING {ClaimedColumns}
        """;

    public async Task CompleteAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            CompleteSql, new { Id = id, DeliveredAt = time.GetUtcNow() }, cancellationToken: cancellationToken));
    }

    private const string CompleteSql = "UPDATE outbox SET delivered_at = @DeliveredAt, locked_until = NULL WHERE id = @Id";

    public async Task RetryLaterAsync(long id, DateTimeOffset notBefore, string error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            RetryLaterSql, new { Id = id, AvailableAt = notBefore, Error = error }, cancellationToken: cancellationToken));
    }

    private const string RetryLaterSql = """
        UPDATE outbox SET locked_until = NULL, available_at = @AvailableAt, last_error = @Error
        WHERE id = @Id AND delivered_at IS NULL AND failed_at IS NULL
        """;

    public async Task FailAsync(long id, string error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            FailSql, new { Id = id, FailedAt = time.GetUtcNow(), Error = error }, cancellationToken: cancellationToken));
    }

    private const string FailSql = """
        UPDATE outbox SET failed_at = @FailedAt, locked_until = NULL, last_error = @Error
        WHERE id = @Id AND delivered_at IS NULL
        """;

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} ({EventType}) cannot be read and is marked failed")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, long id, string eventType);

    private sealed class OutboxRow
    {
        public long Id { get; init; }
        public string EventType { get; init; } = "";
        public string Payload { get; init; } = "";
        public int Attempts { get; init; }
    }
}
