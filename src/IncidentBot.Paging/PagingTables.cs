using IncidentBot.Storage;

namespace IncidentBot.Paging;

/// <summary>
/// Paging's tables (<c>Migrations/&lt;Provider&gt;</c> in this project): the page ledger; and how the retention pruner
/// ages it and the pager webhook events in the shared inbound receipts out.
/// </summary>
public static class PagingTables
{
    public static TableSet Set { get; } = new(
        "paging",
        typeof(PagingTables).Assembly,
        // An open incident keeps its ledger (follow-ups go to every pager it paged; it dedupes escalation steps); so does
        // one reopened since. A page still being sent is left to the sweeper.
        new RetentionRule("page_ledger", RetentionAge.Finished, """
            DELETE FROM page_ledger WHERE id IN (
                SELECT l.id FROM page_ledger l JOIN incidents i ON i.id = l.incident_id
                WHERE i.status = 'resolved' AND i.resolved_at < @Before
                  AND NOT (l.status = 'sending' AND l.action <> 'escalate')
                ORDER BY l.id
                LIMIT @Batch)
            """),
        // Kept for Retention:Age, longer than Paging:PagerDuty:WebhookMaxAge: a receipt stops a replay of an event not yet
        // refused as stale.
        InboundReceipts.RetentionFor(WebhookReceipts, RetentionAge.Finished));

    /// <summary>The source of the pager webhook events acted on in <see cref="InboundReceipts"/>: pager and event id.</summary>
    public const string WebhookReceipts = "pager-webhooks";
}
