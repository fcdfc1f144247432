-- Pager webhook receipts move to the one table of every front-end (storage's inbound_receipts), under the source
-- 'pager-webhooks' and keyed by pager and event (a line break between), so a replay after the upgrade is still known.
INSERT INTO inbound_receipts (source, receipt_key, received_at)
SELECT 'pager-webhooks', pager || chr(10) || event_id, received_at FROM pager_webhook_receipts
WHERE true
ON CONFLICT DO NOTHING;

DROP TABLE pager_webhook_receipts;
