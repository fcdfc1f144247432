-- Slack's event receipts move to the one table of every front-end (storage's inbound_receipts), under the source
-- 'slack-events', so an event retried after the upgrade is still known.
INSERT INTO inbound_receipts (source, receipt_key, received_at)
SELECT 'slack-events', event_id, received_at FROM slack_event_receipts
WHERE true
ON CONFLICT DO NOTHING;

DROP TABLE slack_event_receipts;
