using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// The pager webhook events already acted on (migration 0009), so a redelivered or replayed event has no second
/// effect. Receipts are kept longer than <see cref="PagerDutyOptions.WebhookMaxAge"/>: an older replay is refused as stale.
/// </summary>
public sealed class WebhookReceipts(IDbConnectionFactory database, TimeProvider time)
{
    /// <summary>Records <paramref name="eventId"/> of <paramref name="pager"/>; false when it was recorded before.</summary>
    public async Task<bool> TryRecordAsync(string pager, string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            InsertSql, new { Pager = pager, EventId = eventId, ReceivedAt = time.GetUtcNow() }, cancellationToken: cancellationToken)) == 1;
    }

    private const string InsertSql = """
        INSERT INTO pager_webhook_receipts (pager, event_id, received_at)
        VALUES (@Pager, @EventId, @ReceivedAt)
        ON CONFLICT (pager, event_id) DO NOTHING
        """;

    /// <summary>Forgets an event whose handling failed, so the pager's retry is acted on.</summary>
    public async Task ForgetAsync(string pager, string eventId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM pager_webhook_receipts WHERE pager = @Pager AND event_id = @EventId",
            new { Pager = pager, EventId = eventId },
            cancellationToken: cancellationToken));
    }

    /// <summary>Drops receipts received before <paramref name="before"/>.</summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM pager_webhook_receipts WHERE received_at < @Before",
            new { Before = before },
            cancellationToken: cancellationToken));
    }
}
