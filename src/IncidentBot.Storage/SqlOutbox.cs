using System.Text.Json;
using Dapper;
using IncidentBot.Core.Application;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage;

/// <summary>
/// <see cref="IOutbox"/> over the <c>outbox</c> table that <see cref="SqlIncidentStore"/> writes and the
/// <c>outbox_deliveries</c> table of per-handler lanes (one row per message and handler) that claims fill.
/// </summary>
public sealed partial class SqlOutbox(IDbConnectionFactory database, TimeProvider time, IOptions<OutboxOptions> options, ILogger<SqlOutbox> logger) : IOutbox
{
    static SqlOutbox() => TypeHandlers.EnsureRegistered();

    /// <summary>Host, process and a random part: unique among live instances, and readable in <c>outbox_instances</c>.</summary>
    public string Instance { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Check-ins at or before this are too old: their instance is taken for dead.</summary>
    private DateTimeOffset StaleBefore(DateTimeOffset now) => now - 2 * options.Value.CheckinInterval;

    public async Task<IReadOnlyList<string>> CheckInAsync(bool starting, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var parameters = new
        {
            Instance,
            Now = now,
            StaleBefore = StaleBefore(now),
            Alone = starting && database.Provider == DatabaseProvider.Sqlite,
        };
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        if (database.Provider == DatabaseProvider.Postgres)
        {
            // One statement, committed on its own: the idle instance's most frequent write.
            return [.. await connection.QueryAsync<string>(new CommandDefinition(CheckInPostgresSql, parameters, cancellationToken: cancellationToken))];
        }

        await using var transaction = await connection.BeginWriteAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(CheckInSql, parameters, transaction, cancellationToken: cancellationToken));
        var gone = (await connection.QueryAsync<string>(new CommandDefinition(ForgetStaleSql, parameters, transaction, cancellationToken: cancellationToken))).ToList();
        await transaction.CommitAsync(cancellationToken);
        return gone;
    }

    private const string CheckInPostgresSql = $"""
        WITH checked_in AS ({CheckInSql}),
        gone AS ({ForgetStaleSql})
        SELECT instance_id FROM gone
        """;

    private const string CheckInSql = """
        INSERT INTO outbox_instances (instance_id, started_at, checked_in_at) VALUES (@Instance, @Now, @Now)
        ON CONFLICT (instance_id) DO UPDATE SET checked_in_at = excluded.checked_in_at
        """;

    // Only the row goes: the claims it leaves behind are claimable because no live check-in vouches for them (DueCondition).
    private const string ForgetStaleSql = """
        DELETE FROM outbox_instances
        WHERE instance_id <> @Instance AND (checked_in_at <= @StaleBefore OR @Alone)
        RETURNING instance_id
        """;

    public async Task CheckOutAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM outbox_instances WHERE instance_id = @Instance", new { Instance }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(
        IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool> receives, TimeSpan lease, bool fanOut, bool checkIn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        ArgumentNullException.ThrowIfNull(receives);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lease, TimeSpan.Zero);
        var most = capacity.Count == 0 ? 0 : capacity.Values.Max();
        if (most <= 0)
        {
            if (checkIn)
            {
                await CheckInAsync(starting: false, cancellationToken);
            }

            return [];
        }

        var now = time.GetUtcNow();
        var postgres = database.Provider == DatabaseProvider.Postgres;
        // Lanes are made for the handlers this claimer runs when it first sees a message. So a handler added later
        // (Teams configured months after Slack) starts with the events stored from then on instead of being flooded
        // with old history, and a message is never fanned out twice. Worked out before the write lock is taken.
        var routes = FanOutParameters(capacity, receives, most, now, postgres);
        var rows = postgres
            ? await ClaimPostgresAsync(capacity, routes, fanOut, checkIn, most, now, lease, cancellationToken)
            : await ClaimSqliteAsync(capacity, routes, checkIn, most, now, lease, cancellationToken);

        var deliveries = new List<OutboxDelivery>(rows.Count);
        foreach (var row in rows.OrderBy(r => r.MessageId).ThenBy(r => r.Handler, StringComparer.Ordinal))
        {
            try
            {
                deliveries.Add(new OutboxDelivery(row.MessageId, row.Handler, EventJson.Deserialize(row.Payload), row.Attempts));
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException)
            {
                // Left pending, an unreadable message would block its lanes for good.
                LogUnreadable(logger, ex, row.MessageId, row.EventType, row.Handler);
                await FailAsync(row.MessageId, row.Handler, $"Unreadable {row.EventType} payload: {ex.Message}", cancellationToken);
            }
        }

        return deliveries;
    }

    // A fan-out that took a full batch may have left more messages behind: the next claim fans out again, asked or not.
    private volatile bool _fanOutBacklog;

    /// <summary>
    /// One command, one round trip, no BEGIN/COMMIT: the fan-out (when asked for, or a backlog is left) and a single
    /// claim statement for every handler. PostgreSQL runs the statements of one command as one implicit transaction,
    /// and each sees what the one before it wrote, so lanes made by the fan-out are claimable by the claim.
    /// </summary>
    private async Task<List<DeliveryRow>> ClaimPostgresAsync(
        IReadOnlyDictionary<string, int> capacity, object routes, bool fanOut, bool checkIn, int most, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        var slots = capacity.Where(c => c.Value > 0).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        var claim = new DynamicParameters(routes);
        claim.AddDynamicParams(new
        {
            SlotHandlers = slots.Select(s => s.Key).ToArray(),
            SlotSizes = slots.Select(s => s.Value).ToArray(),
            LeaseUntil = now + lease,
            Instance,
            StaleBefore = StaleBefore(now),
        });
        var fanOutNow = fanOut || _fanOutBacklog;
        var claimSql = checkIn ? CheckInAndClaimPostgresSql : ClaimPostgresSql;
        return await database.RunAsync(async connection =>
        {
            if (!fanOutNow)
            {
                return (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(claimSql, claim, cancellationToken: cancellationToken))).AsList();
            }

            await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
                FanOutPostgresSql + ";\n" + claimSql, claim, cancellationToken: cancellationToken));
            var fanned = await results.ReadSingleAsync<int>();
            var claimed = (await results.ReadAsync<DeliveryRow>()).AsList();
            _fanOutBacklog = fanned >= most;
            return claimed;
        }, cancellationToken);
    }

    /// <summary>SQLite runs one writer at a time: fan-out and one claim per handler inside one write transaction.</summary>
    private async Task<List<DeliveryRow>> ClaimSqliteAsync(
        IReadOnlyDictionary<string, int> capacity, object routes, bool checkIn, int most, DateTimeOffset now, TimeSpan lease, CancellationToken cancellationToken)
    {
        return await database.RunAsync(async connection =>
        {
            var claimed = new List<DeliveryRow>();
            await using var transaction = await connection.BeginWriteAsync(cancellationToken);
            if (checkIn)
            {
                await connection.ExecuteAsync(new CommandDefinition(CheckInSql, new { Instance, Now = now }, transaction, cancellationToken: cancellationToken));
            }

            await connection.ExecuteAsync(new CommandDefinition(FanOutSqliteSql, routes, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(MarkFannedOutSqliteSql, new { Max = most, Now = now }, transaction, cancellationToken: cancellationToken));
            foreach (var (handler, max) in capacity.Where(c => c.Value > 0).OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                claimed.AddRange(await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
                    ClaimSqliteSql,
                    new { Handler = handler, Max = max, Now = now, LeaseUntil = now + lease, Instance, StaleBefore = StaleBefore(now) },
                    transaction,
                    cancellationToken: cancellationToken)));
            }

            await transaction.CommitAsync(cancellationToken);
            return claimed;
        }, cancellationToken);
    }

    private static readonly string[] KnownTypes = [.. EventJson.StoredTypes.Values];
    private static readonly string KnownTypesJson = JsonSerializer.Serialize(KnownTypes);

    /// <summary>
    /// The (handler, event type) pairs that get a lane: parallel text[]s on PostgreSQL, a JSON array of pairs on
    /// SQLite. A type this build does not know (a newer build wrote it) goes to every handler as
    /// <see cref="UnknownType"/>, so it fails there as unreadable, on the record, rather than vanishing.
    /// </summary>
    private static object FanOutParameters(
        IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool> receives, int most, DateTimeOffset now, bool postgres)
    {
        var routes = (
            from handler in capacity.Keys
            from type in EventJson.StoredTypes
            where receives(handler, type.Key)
            select (Handler: handler, EventType: type.Value))
            .Concat(capacity.Keys.Select(handler => (Handler: handler, EventType: UnknownType)))
            .ToList();
        return postgres
            ? new
            {
                Handlers = routes.Select(r => r.Handler).ToArray(),
                Types = routes.Select(r => r.EventType).ToArray(),
                Known = KnownTypes,
                // As many messages as the roomiest handler could take, so a backlog is fanned out batch by batch.
                Max = most,
                Now = now,
            }
            : new
            {
                Routes = JsonSerializer.Serialize(routes.Select(r => new[] { r.Handler, r.EventType })),
                Known = KnownTypesJson,
                Max = most,
                Now = now,
            };
    }

    /// <summary>The route of event types this build has no class for; no real type is named so.</summary>
    private const string UnknownType = "*";

    // Not yet fanned out. locked_until is set only by builds from before lanes existed, while they deliver the
    // message themselves (a rolling deploy): it is left to them until they finish or their lease runs out.
    private const string NotFannedOut = """
        o.delivered_at IS NULL AND o.failed_at IS NULL
        AND (o.locked_until IS NULL OR o.locked_until <= @Now)
        """;

    // The not_before of a lane starts at the message's available_at, so a backoff from before lanes still holds.
    internal const string FanOutPostgresSql = $"""
        WITH pending AS (
            SELECT o.id FROM outbox o
            WHERE {NotFannedOut}
            ORDER BY o.id
            LIMIT @Max
            FOR UPDATE SKIP LOCKED),
        fanned AS (
            UPDATE outbox SET delivered_at = @Now, locked_until = NULL
            FROM pending
            WHERE outbox.id = pending.id
            RETURNING outbox.id, outbox.incident_id, outbox.available_at, outbox.event_type),
        lanes AS (
            INSERT INTO outbox_deliveries (message_id, handler, incident_id, not_before)
            SELECT fanned.id, routes.handler, fanned.incident_id, fanned.available_at
            FROM fanned JOIN unnest(@Handlers::text[], @Types::text[]) AS routes (handler, event_type)
                ON routes.event_type = fanned.event_type
                OR (routes.event_type = '{UnknownType}' AND fanned.event_type <> ALL (@Known::text[]))
            ON CONFLICT (message_id, handler) DO NOTHING)
        SELECT count(*)::int FROM fanned
        """;

    // SQLite runs one writer at a time, and the claim's transaction holds the write lock from its start, so the
    // messages this inserts lanes for are exactly those the next statement marks (some may get no lane at all).
    private const string PendingSqlite = $"SELECT o.id, o.incident_id, o.available_at, o.event_type FROM outbox o WHERE {NotFannedOut} ORDER BY o.id LIMIT @Max";

    private const string FanOutSqliteSql = $"""
        INSERT INTO outbox_deliveries (message_id, handler, incident_id, not_before)
        SELECT o.id, json_extract(routes.value, '$[0]'), o.incident_id, o.available_at
        FROM ({PendingSqlite}) AS o
        JOIN json_each(@Routes) AS routes
            ON json_extract(routes.value, '$[1]') = o.event_type
            OR (json_extract(routes.value, '$[1]') = '{UnknownType}' AND o.event_type NOT IN (SELECT value FROM json_each(@Known)))
        """;

    private const string MarkFannedOutSqliteSql = $"""
        UPDATE outbox SET delivered_at = @Now, locked_until = NULL
        WHERE id IN (SELECT id FROM ({PendingSqlite}))
        """;

    // Due, and the oldest open delivery of its lane (incident, handler). A lane also waits while an earlier message
    // of its incident is not fanned out yet (another claimer is fanning it out right now, or a build from before
    // lanes holds it), so no handler ever gets an incident's events out of order. A claim holds while its lease does
    // and its claimer keeps checking in: one killed mid-delivery frees its claims within twice the check-in interval.
    private const string DueCondition = """
        d.done_at IS NULL AND d.failed_at IS NULL
        AND d.not_before <= @Now
        AND (d.lease_until IS NULL OR d.lease_until <= @Now
            OR d.claimed_by IS NOT NULL AND d.claimed_by <> @Instance AND NOT EXISTS (
                SELECT 1 FROM outbox_instances claimer
                WHERE claimer.instance_id = d.claimed_by AND claimer.checked_in_at > @StaleBefore))
        AND NOT EXISTS (
            SELECT 1 FROM outbox_deliveries earlier
            WHERE earlier.incident_id = d.incident_id AND earlier.handler = d.handler AND earlier.message_id < d.message_id
            AND earlier.done_at IS NULL AND earlier.failed_at IS NULL)
        AND NOT EXISTS (
            SELECT 1 FROM outbox unfanned
            WHERE unfanned.incident_id = d.incident_id AND unfanned.id < d.message_id
            AND unfanned.delivered_at IS NULL AND unfanned.failed_at IS NULL)
        """;

    // Every handler in one statement, each taking only as many as it has free slots (the LATERAL limit). SKIP LOCKED: a
    // delivery another instance is claiming right now is left to it, never claimed twice.
    internal const string ClaimPostgresSql = $"""
        WITH due AS (
            SELECT pick.message_id, pick.handler
            FROM unnest(@SlotHandlers::text[], @SlotSizes::int[]) AS slots (handler, size)
            CROSS JOIN LATERAL (
                SELECT d.message_id, d.handler FROM outbox_deliveries d
                WHERE d.handler = slots.handler AND {DueCondition}
                ORDER BY d.message_id, d.handler
                LIMIT slots.size
                FOR UPDATE SKIP LOCKED) AS pick)
        UPDATE outbox_deliveries AS delivery SET lease_until = @LeaseUntil, claimed_by = @Instance, attempts = delivery.attempts + 1
        FROM due, outbox AS message
        WHERE delivery.message_id = due.message_id AND delivery.handler = due.handler AND message.id = due.message_id
        RETURNING delivery.message_id AS MessageId, delivery.handler AS Handler, delivery.attempts AS Attempts,
            message.event_type AS EventType, message.payload::text AS Payload
        """;

    // The check-in rides on the claim: one statement per idle tick. The claim sees the check-in before this one, which
    // changes nothing for other instances' claims; the claimer's own claims are never taken for a dead instance's.
    private static readonly string CheckInAndClaimPostgresSql = $"WITH checked_in AS ({CheckInSql}),\n" + ClaimPostgresSql["WITH ".Length..];

    // SQLite runs one writer at a time, so the select and update cannot interleave with another claim.
    private const string ClaimSqliteSql = $"""
        UPDATE outbox_deliveries SET lease_until = @LeaseUntil, claimed_by = @Instance, attempts = attempts + 1
        WHERE (message_id, handler) IN (
            SELECT d.message_id, d.handler FROM outbox_deliveries d
            WHERE d.handler = @Handler AND {DueCondition}
            ORDER BY d.message_id, d.handler
            LIMIT @Max)
        RETURNING message_id AS MessageId, handler AS Handler, attempts AS Attempts,
            (SELECT event_type FROM outbox WHERE outbox.id = outbox_deliveries.message_id) AS EventType,
            (SELECT payload FROM outbox WHERE outbox.id = outbox_deliveries.message_id) AS Payload
        """;

    public async Task CompleteAsync(long messageId, string handler, CancellationToken cancellationToken)
    {
        await database.RunAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            CompleteSql, new { MessageId = messageId, Handler = handler, DoneAt = time.GetUtcNow() }, cancellationToken: cancellationToken)), cancellationToken);
    }

    private const string CompleteSql = """
        UPDATE outbox_deliveries SET done_at = @DoneAt, lease_until = NULL
        WHERE message_id = @MessageId AND handler = @Handler AND done_at IS NULL
        """;

    public async Task RetryLaterAsync(long messageId, string handler, DateTimeOffset notBefore, string error, CancellationToken cancellationToken)
    {
        await database.RunAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            RetryLaterSql,
            new { MessageId = messageId, Handler = handler, NotBefore = notBefore, Error = error },
            cancellationToken: cancellationToken)), cancellationToken);
    }

    private const string RetryLaterSql = """
        UPDATE outbox_deliveries SET lease_until = NULL, not_before = @NotBefore, error = @Error
        WHERE message_id = @MessageId AND handler = @Handler AND done_at IS NULL AND failed_at IS NULL
        """;

    public async Task FailAsync(long messageId, string handler, string error, CancellationToken cancellationToken)
    {
        await database.RunAsync(connection => connection.ExecuteAsync(new CommandDefinition(
            FailSql,
            new { MessageId = messageId, Handler = handler, FailedAt = time.GetUtcNow(), Error = error },
            cancellationToken: cancellationToken)), cancellationToken);
    }

    private const string FailSql = """
        UPDATE outbox_deliveries SET failed_at = @FailedAt, lease_until = NULL, error = @Error
        WHERE message_id = @MessageId AND handler = @Handler AND done_at IS NULL AND failed_at IS NULL
        """;

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} ({EventType}) cannot be read and is marked failed for {Handler}")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, long id, string eventType, string handler);

    private sealed class DeliveryRow
    {
        public long MessageId { get; init; }
        public string Handler { get; init; } = "";
        public int Attempts { get; init; }
        public string EventType { get; init; } = "";
        public string Payload { get; init; } = "";
    }
}
