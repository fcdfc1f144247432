-- Teams' activity receipts move to the one table of every front-end (storage's inbound_receipts), under the source
-- 'teams-activities' and keyed by conversation and activity (a line break between), so a redelivery after the upgrade
-- is still known.
INSERT INTO inbound_receipts (source, receipt_key, received_at)
SELECT 'teams-activities', conversation_id || chr(10) || activity_id, received_at FROM teams_activity_receipts
WHERE true
ON CONFLICT DO NOTHING;

DROP TABLE teams_activity_receipts;
