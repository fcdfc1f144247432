-- The inbound requests every front-end has acted on (Slack events, Teams activities, pager webhook events), in one table;
-- each front-end's own receipts table moves its rows here in its next script.
CREATE TABLE inbound_receipts (
    source TEXT NOT NULL,
    receipt_key TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, receipt_key)
) STRICT;

-- Retention deletes each source's receipts by age.
CREATE INDEX ix_inbound_receipts_source_received_at ON inbound_receipts (source, received_at);
