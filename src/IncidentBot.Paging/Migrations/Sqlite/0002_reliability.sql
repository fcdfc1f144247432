-- Adopts: storage 8
-- Reliability (SQLite): pages and escalation steps that survive a crash.

-- A page whose sender died is sent again by whoever finds its claim run out, with what it was sent with.
ALTER TABLE page_ledger ADD COLUMN reason TEXT;
ALTER TABLE page_ledger ADD COLUMN dedup_key TEXT;
-- An escalation step is recorded 'scheduled' (action 'escalate') when its timer is set, due at this time, so a
-- lost timer can be set again from the ledger.
ALTER TABLE page_ledger ADD COLUMN due_at TEXT;

-- The claims still being sent, by when they run out: all the page sweeper reads.
CREATE INDEX ix_page_ledger_sending ON page_ledger (claimed_until) WHERE status = 'sending';
