using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Paging;

/// <summary>Identifies one page: the UNIQUE key of <c>page_ledger</c>.</summary>
public sealed record PageKey(long IncidentId, string Action, int Level, int Loop, long Generation, string Target)
{
    /// <summary>Stable across retries and crashes: the webhook-id receivers dedupe on.</summary>
    public string MessageId => $"incidentbot-{IncidentId}-{Action}-{Level}-{Loop}-{Generation}-{Target}";

    /// <summary>The time a generation stands for: when the escalation run began, or when the follow-up was asked for.</summary>
    public DateTimeOffset GenerationTime => new(Generation * TimeSpan.TicksPerMicrosecond, TimeSpan.Zero);
}

/// <summary>An alert a target accepted (or may have): the target as configured and the key it was triggered with.</summary>
public sealed record OpenAlert
{
    public string Target { get; init; } = "";
    public string? DedupKey { get; init; }
}

/// <summary>A ledger row as stored (properties, so Dapper converts SQLite's 64-bit integers).</summary>
public sealed record PageLedgerRow
{
    public long IncidentId { get; init; }
    public int Number { get; init; }
    public string Action { get; init; } = "";
    public int Level { get; init; }
    public int Loop { get; init; }
    public long Generation { get; init; }
    public string Target { get; init; } = "";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public string? Reason { get; init; }
    public string? DedupKey { get; init; }
    public DateTimeOffset ClaimedUntil { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    public PageKey Key => new(IncidentId, Action, Level, Loop, Generation, Target);
}

/// <summary>
/// The page ledger (migrations 0003, 0008). A page is claimed by inserting its row before anything is sent, so it is
/// sent at most once per key while its claim holds. A live sender renews its claim; a claim that runs out belonged to a
/// sender that died, and is taken over by whoever finds it (<see cref="PageSweeper"/>): the pager's own dedup key
/// (PagerDuty dedup_key, Opsgenie alias, webhook-id) makes that second send harmless. Escalation steps are rows too
/// (action <c>escalate</c>, target <c>*</c>): <see cref="Scheduled"/> when their timer is set, claimed when it fires.
/// </summary>
public sealed class PageLedger(IDbConnectionFactory database, TimeProvider time)
{
    public const string Scheduled = "scheduled";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Failed = "failed";
    public const string Stopped = "stopped";

    /// <summary>The action of escalation-step rows.</summary>
    public const string Escalate = "escalate";

    /// <summary>
    /// Claims a page (or an escalation step) for <paramref name="lease"/>: a new row, a scheduled step, or a claim that
    /// ran out. Returns the claim's number (its count of claims, the token <see cref="RenewAsync"/> and
    /// <see cref="CompleteAsync"/> check), or null when it is sent, failed, stopped, or held by a live sender.
    /// </summary>
    public Task<int?> TryClaimAsync(PageKey key, string? reason, string? dedupKey, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var args = new
        {
            key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target,
            Reason = reason, DedupKey = dedupKey, Now = now, Until = now + lease,
        };
        return database.RunAsync(
            async connection =>
                await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(InsertSql, args, cancellationToken: cancellationToken))
                ?? await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(TakeOverSql, args, cancellationToken: cancellationToken)),
            cancellationToken);
    }

    private const string KeyMatch = """
        incident_id = @IncidentId AND action = @Action AND level = @Level AND loop = @Loop
          AND generation = @Generation AND target = @Target
        """;

    private const string InsertSql = """
        INSERT INTO page_ledger (incident_id, action, level, loop, generation, target, status, attempts, created_at, claimed_until, reason, dedup_key)
        VALUES (@IncidentId, @Action, @Level, @Loop, @Generation, @Target, 'sending', 1, @Now, @Until, @Reason, @DedupKey)
        ON CONFLICT (incident_id, action, level, loop, generation, target) DO NOTHING
        RETURNING attempts
        """;

    private const string TakeOverSql = $"""
        UPDATE page_ledger SET status = 'sending', claimed_until = @Until, attempts = attempts + 1,
            reason = COALESCE(reason, @Reason), dedup_key = COALESCE(dedup_key, @DedupKey)
        WHERE {KeyMatch} AND (status = 'scheduled' OR (status = 'sending' AND claimed_until < @Now))
        RETURNING attempts
        """;

    /// <summary>Extends a live claim; false when it is no longer this claim (completed, or taken over after running out).</summary>
    public Task<bool> RenewAsync(PageKey key, int claim, TimeSpan lease, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection => await connection.ExecuteAsync(new CommandDefinition(
                RenewSql,
                new { key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target, Claim = claim, Until = time.GetUtcNow() + lease },
                cancellationToken: cancellationToken)) == 1,
            cancellationToken);

    private const string RenewSql = $"""
        UPDATE page_ledger SET claimed_until = @Until
        WHERE {KeyMatch} AND status = 'sending' AND attempts = @Claim
        """;

    /// <summary>
    /// Records how a claimed page ended. <see cref="Sent"/> is recorded whoever holds the claim now (a page the provider
    /// accepted is sent); any other outcome only by the holder of <paramref name="claim"/>. True when this call changed
    /// the row, so its outcome is told (timeline, log, metric) once.
    /// </summary>
    public Task<bool> CompleteAsync(PageKey key, string status, string? error, int claim, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection => await connection.ExecuteAsync(new CommandDefinition(
                status == Sent ? CompleteSentSql : CompleteClaimSql,
                new
                {
                    key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target,
                    Status = status, Error = error, Claim = claim, Now = time.GetUtcNow(),
                },
                cancellationToken: cancellationToken)) == 1,
            cancellationToken);

    private const string CompleteSentSql = $"""
        UPDATE page_ledger SET status = @Status, error = NULL, completed_at = @Now
        WHERE {KeyMatch} AND status = 'sending'
        """;

    private const string CompleteClaimSql = $"""
        UPDATE page_ledger SET status = @Status, error = @Error, completed_at = @Now
        WHERE {KeyMatch} AND status = 'sending' AND attempts = @Claim
        """;

    public Task<PageLedgerRow?> GetAsync(PageKey key, CancellationToken cancellationToken) =>
        database.RunAsync(
            connection => connection.QuerySingleOrDefaultAsync<PageLedgerRow>(new CommandDefinition(
                $"SELECT {Columns} FROM page_ledger l JOIN incidents i ON i.id = l.incident_id WHERE {KeyMatch}",
                new { key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target },
                cancellationToken: cancellationToken)),
            cancellationToken);

    /// <summary>
    /// Records an escalation step whose timer is being set (status <see cref="Scheduled"/>, due at <paramref name="dueAt"/>),
    /// unless the step is in the ledger already.
    /// </summary>
    public Task ScheduleStepAsync(PageKey step, string reason, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        database.RunAsync(
            connection => connection.ExecuteAsync(new CommandDefinition(
                ScheduleSql,
                new { step.IncidentId, step.Action, step.Level, step.Loop, step.Generation, step.Target, Reason = reason, DueAt = dueAt, Now = time.GetUtcNow() },
                cancellationToken: cancellationToken)),
            cancellationToken);

    private const string ScheduleSql = """
        INSERT INTO page_ledger (incident_id, action, level, loop, generation, target, status, attempts, created_at, claimed_until, reason, due_at)
        VALUES (@IncidentId, @Action, @Level, @Loop, @Generation, @Target, 'scheduled', 0, @Now, @Now, @Reason, @DueAt)
        ON CONFLICT (incident_id, action, level, loop, generation, target) DO NOTHING
        """;

    /// <summary>
    /// Stops the incident's escalation steps still waiting for their timer (a severity lowered below paging), so neither
    /// the timer nor the reconciler pages them. Returns how many were stopped.
    /// </summary>
    public Task<int> StopScheduledStepsAsync(long incidentId, CancellationToken cancellationToken) =>
        database.RunAsync(
            connection => connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE page_ledger SET status = 'stopped', completed_at = @Now WHERE incident_id = @IncidentId AND action = '{Escalate}' AND status = 'scheduled'",
                new { IncidentId = incidentId, Now = time.GetUtcNow() },
                cancellationToken: cancellationToken)),
            cancellationToken);

    /// <summary>Pages (not escalation steps) whose claim ran out while still being sent, oldest claim first.</summary>
    public Task<IReadOnlyList<PageLedgerRow>> ExpiredClaimsAsync(int max, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection => (IReadOnlyList<PageLedgerRow>)(await connection.QueryAsync<PageLedgerRow>(new CommandDefinition(
                ExpiredSql, new { Now = time.GetUtcNow(), Max = max }, cancellationToken: cancellationToken))).AsList(),
            cancellationToken);

    private const string ExpiredSql = $"""
        SELECT {Columns} FROM page_ledger l JOIN incidents i ON i.id = l.incident_id
        WHERE l.status = 'sending' AND l.claimed_until < @Now AND l.action <> '{Escalate}'
        ORDER BY l.claimed_until
        LIMIT @Max
        """;

    /// <summary>When the next page claim runs out, if one is being sent.</summary>
    public Task<DateTimeOffset?> NextExpiryAsync(CancellationToken cancellationToken) =>
        database.RunAsync(
            connection => connection.ExecuteScalarAsync<DateTimeOffset?>(new CommandDefinition(
                $"SELECT MIN(claimed_until) FROM page_ledger WHERE status = 'sending' AND action <> '{Escalate}'", cancellationToken: cancellationToken)),
            cancellationToken);

    /// <summary>
    /// The latest escalation step of every open incident: the step of its newest run, furthest along. Pages of one
    /// person (level 0) are sent at once by the event that asked for them, so they are no run to carry on.
    /// </summary>
    public Task<IReadOnlyList<PageLedgerRow>> LatestStepsOfOpenIncidentsAsync(CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection =>
            {
                var rows = await connection.QueryAsync<PageLedgerRow>(new CommandDefinition(
                    $"SELECT {Columns} FROM page_ledger l JOIN incidents i ON i.id = l.incident_id WHERE l.action = '{Escalate}' AND l.level > 0 AND i.status <> 'resolved'",
                    cancellationToken: cancellationToken));
                return (IReadOnlyList<PageLedgerRow>)rows
                    .GroupBy(r => r.IncidentId)
                    .Select(g => g.OrderByDescending(r => r.Generation).ThenByDescending(r => r.Loop).ThenByDescending(r => r.Level).First())
                    .ToList();
            },
            cancellationToken);

    /// <summary>
    /// The alerts the incident may have open, those to acknowledge or resolve: every key at every target that accepted a
    /// trigger, or whose trigger is still being sent (a sender that died may have been accepted before it could record it).
    /// </summary>
    public Task<IReadOnlyList<OpenAlert>> TriggeredAlertsAsync(long incidentId, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection => (IReadOnlyList<OpenAlert>)(await connection.QueryAsync<OpenAlert>(new CommandDefinition(
                TriggeredSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken))).AsList(),
            cancellationToken);

    private const string TriggeredSql = """
        SELECT DISTINCT target AS Target, dedup_key AS DedupKey FROM page_ledger
        WHERE incident_id = @IncidentId AND action = 'trigger' AND status IN ('sent', 'sending') AND target <> '*'
        ORDER BY target, dedup_key
        """;

    /// <summary>
    /// The step's place in the incident's alert-key sequence (1 for the incident's first alert): given once, when the
    /// step first pages, and kept on its row, so a retry or a crash pages with the same key and never a new one.
    /// </summary>
    public async Task<int> AssignKeyAsync(PageKey step, CancellationToken cancellationToken)
    {
        var args = new { step.IncidentId, step.Action, step.Level, step.Loop, step.Generation, step.Target };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await database.RunAsync(
                    async connection =>
                    {
                        await connection.ExecuteAsync(new CommandDefinition(AssignKeySql, args, cancellationToken: cancellationToken));
                        return await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                            $"SELECT key_sequence FROM page_ledger WHERE {KeyMatch}", args, cancellationToken: cancellationToken))
                            ?? throw new InvalidOperationException($"Escalation step {step.MessageId} is not in the page ledger");
                    },
                    cancellationToken);
            }
            catch (System.Data.Common.DbException) when (attempt < 5)
            {
                // Another step of the incident took the same number at the same moment (the unique index): take the next.
            }
        }
    }

    private const string AssignKeySql = $"""
        UPDATE page_ledger SET key_sequence = (
            SELECT COALESCE(MAX(key_sequence), 0) + 1 FROM page_ledger WHERE incident_id = @IncidentId AND action = '{Escalate}')
        WHERE {KeyMatch} AND key_sequence IS NULL
        """;

    public Task<IReadOnlyList<PageLedgerRow>> ListAsync(long incidentId, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection => (IReadOnlyList<PageLedgerRow>)(await connection.QueryAsync<PageLedgerRow>(new CommandDefinition(
                $"SELECT {Columns} FROM page_ledger l JOIN incidents i ON i.id = l.incident_id WHERE l.incident_id = @IncidentId ORDER BY l.id",
                new { IncidentId = incidentId },
                cancellationToken: cancellationToken))).AsList(),
            cancellationToken);

    private const string Columns = """
        l.incident_id AS IncidentId, i.number AS Number, l.action AS Action, l.level AS Level, l.loop AS Loop,
        l.generation AS Generation, l.target AS Target, l.status AS Status, l.attempts AS Attempts, l.error AS Error,
        l.reason AS Reason, l.dedup_key AS DedupKey, l.claimed_until AS ClaimedUntil, l.created_at AS CreatedAt, l.due_at AS DueAt,
        l.completed_at AS CompletedAt
        """;
}
