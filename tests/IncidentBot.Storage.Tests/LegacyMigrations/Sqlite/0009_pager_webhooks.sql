-- Pager webhooks (PagerDuty v3 subscriptions, Opsgenie outgoing webhooks). One row per event acted on, so a
-- redelivered or replayed event has no second effect; rows outlive Paging:PagerDuty:WebhookMaxAge, past which a
-- delivery is refused as stale anyway. Times are TEXT in DatabaseTime.IsoFormat, UTC.
CREATE TABLE pager_webhook_receipts (
    pager TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (pager, event_id)
) STRICT;

CREATE INDEX ix_pager_webhook_receipts_received_at ON pager_webhook_receipts (received_at);
