-- Outbox instances and their claims (SQLite). Times are TEXT in DatabaseTime.IsoFormat, UTC.
--
-- Every running instance checks in here every Outbox:CheckinInterval. A delivery's claim names the instance that
-- made it (claimed_by), so claims of an instance that stopped checking in for twice the interval are free to take
-- again long before their lease runs out: after a kill -9 the work resumes in seconds, not minutes. The lease stays
-- the upper bound. SQLite runs one instance, so a starting instance forgets every other one at once.
CREATE TABLE outbox_instances (
    instance_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    checked_in_at TEXT NOT NULL
) STRICT;

-- Null for claims made by builds from before this version: those are left to their lease.
ALTER TABLE outbox_deliveries ADD COLUMN claimed_by TEXT;
