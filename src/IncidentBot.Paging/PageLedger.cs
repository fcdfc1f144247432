using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Paging;

/// <summary>Identifies one page: the UNIQUE key of <c>page_ledger</c>.</summary>
public sealed record PageKey(long IncidentId, string Action, int Level, int Loop, long Generation, string Target)
{
    /// <summary>Stable across retries and crashes: the webhook-id receivers dedupe on.</summary>
    public string MessageId => $"incidentbot-{IncidentId}-{Action}-{Level}-{Loop}-{Generation}-{Target}";
}

/// <summary>A ledger row as stored (properties, so Dapper converts SQLite's 64-bit integers).</summary>
public sealed record PageLedgerRow
{
    public long IncidentId { get; init; }
    public string Action { get; init; } = "";
    public int Level { get; init; }
    public int Loop { get; init; }
    public long Generation { get; init; }
    public string Target { get; init; } = "";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public string? Error { get; init; }
}

/// <summary>
/// The page ledger (migration 0003). A page is claimed by inserting its row before anything is sent, so it is
/// sent at most once per key; a claim whose sender died (lease run out while still <c>sending</c>) is taken over,
/// and the pager's own dedup key (PagerDuty dedup_key, Opsgenie alias, webhook-id) makes that resend harmless.
/// </summary>
public sealed class PageLedger(IDbConnectionFactory database, TimeProvider time)
{
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Failed = "failed";

    /// <summary>True when this caller now owns sending the page; false when it was sent (or is being sent) already.</summary>
    public async Task<bool> TryClaimAsync(PageKey key, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var args = new { key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target, Now = now, Until = now + lease };
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        if (await connection.ExecuteAsync(new CommandDefinition(InsertSql, args, cancellationToken: cancellationToken)) == 1)
        {
            return true;
        }

        return await connection.ExecuteAsync(new CommandDefinition(TakeOverSql, args, cancellationToken: cancellationToken)) == 1;
    }

    private const string InsertSql = """
        INSERT INTO page_ledger (incident_id, action, level, loop, generation, target, status, attempts, created_at, claimed_until)
        VALUES (@IncidentId, @Action, @Level, @Loop, @Generation, @Target, 'sending', 1, @Now, @Until)
        ON CONFLICT (incident_id, action, level, loop, generation, target) DO NOTHING
        """;

    private const string TakeOverSql = """
        UPDATE page_ledger SET claimed_until = @Until, attempts = attempts + 1
        WHERE incident_id = @IncidentId AND action = @Action AND level = @Level AND loop = @Loop
          AND generation = @Generation AND target = @Target AND status = 'sending' AND claimed_until < @Now
        """;

    public async Task CompleteAsync(PageKey key, string status, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            CompleteSql,
            new { key.IncidentId, key.Action, key.Level, key.Loop, key.Generation, key.Target, Status = status, Error = error, Now = time.GetUtcNow() },
            cancellationToken: cancellationToken));
    }

    private const string CompleteSql = """
        UPDATE page_ledger SET status = @Status, error = @Error, completed_at = @Now
        WHERE incident_id = @IncidentId AND action = @Action AND level = @Level AND loop = @Loop
          AND generation = @Generation AND target = @Target
        """;

    /// <summary>The pagers that accepted at least one trigger for the incident: those to acknowledge or resolve.</summary>
    public async Task<IReadOnlyList<string>> TriggeredTargetsAsync(long incidentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<string>(new CommandDefinition(TriggeredSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken))).AsList();
    }

    private const string TriggeredSql = """
        SELECT DISTINCT target FROM page_ledger
        WHERE incident_id = @IncidentId AND action = 'trigger' AND status = 'sent' AND target <> '*'
        ORDER BY target
        """;

    public async Task<IReadOnlyList<PageLedgerRow>> ListAsync(long incidentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<PageLedgerRow>(new CommandDefinition(ListSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken))).AsList();
    }

    private const string ListSql = """
        SELECT incident_id AS IncidentId, action AS Action, level AS Level, loop AS Loop, generation AS Generation,
               target AS Target, status AS Status, attempts AS Attempts, error AS Error
        FROM page_ledger WHERE incident_id = @IncidentId ORDER BY id
        """;
}
