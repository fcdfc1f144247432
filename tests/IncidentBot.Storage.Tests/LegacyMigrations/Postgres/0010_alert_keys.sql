-- Alert keys (PostgreSQL): every escalation step that pages opens its own alert, keyed incidentbot-INC-42, -2, -3, …
-- The step's number in that sequence is kept on its ledger row (action 'escalate'), so a retry or a crash sends the
-- same key again; the index keeps the sequence unique per incident.
ALTER TABLE page_ledger ADD COLUMN key_sequence integer;

CREATE UNIQUE INDEX ux_page_ledger_key_sequence ON page_ledger (incident_id, key_sequence)
    WHERE action = 'escalate' AND key_sequence IS NOT NULL;
