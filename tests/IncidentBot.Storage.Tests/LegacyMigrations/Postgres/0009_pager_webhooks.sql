-- Pager webhooks (PagerDuty v3 subscriptions, Opsgenie outgoing webhooks). One row per event acted on, so a
-- redelivered or replayed event has no second effect; rows outlive Paging:PagerDuty:WebhookMaxAge, past which a
-- delivery is refused as stale anyway.
CREATE TABLE pager_webhook_receipts (
    pager text NOT NULL,
    event_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (pager, event_id)
);

CREATE INDEX ix_pager_webhook_receipts_received_at ON pager_webhook_receipts (received_at);
