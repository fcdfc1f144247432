-- Outbox instances and their claims (PostgreSQL).
--
-- Every running instance checks in here every Outbox:CheckinInterval. A delivery's claim names the instance that
-- made it (claimed_by), so claims of an instance that stopped checking in for twice the interval are free to take
-- again long before their lease runs out: after a kill -9 another instance (or the restarted one) resumes the work
-- in seconds, not minutes. The lease stays the upper bound.
CREATE TABLE outbox_instances (
    instance_id text PRIMARY KEY,
    started_at timestamptz NOT NULL,
    checked_in_at timestamptz NOT NULL
);

-- Null for claims made by builds from before this version: those are left to their lease.
ALTER TABLE outbox_deliveries ADD COLUMN claimed_by text;
