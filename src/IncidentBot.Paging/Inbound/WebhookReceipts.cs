using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// The pager webhook events already acted on (<see cref="PagingTables"/>), so a redelivered or replayed event has no second
/// effect. The retention pruner drops them after <c>Retention:Age</c>; a replay older than <see cref="PagerDutyOptions.WebhookMaxAge"/> is refused as stale.
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
}
