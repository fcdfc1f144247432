-- Per-handler delivery lanes for the outbox (PostgreSQL).
--
-- An outbox message is delivered to each event handler separately: one row here per (message, handler), made
-- when the message is first claimed ("fanned out"), for the handlers the claiming instance runs then. Each
-- (incident, handler) pair is an ordered lane: a handler that keeps failing on one event holds back only its own
-- later events of that incident. Retries, attempts, leases and giving up are per row.
--
-- From this version on, outbox.delivered_at is when the message was fanned out into these rows (no longer when
-- every handler had it), so the outbox's pending indexes keep covering only what still has to be fanned out, and a
-- build from before this version never delivers a fanned-out message again. Messages still pending when this
-- migration runs are fanned out like new ones (respecting their available_at), so nothing stored before it is lost.
CREATE TABLE outbox_deliveries (
    message_id bigint NOT NULL REFERENCES outbox (id),
    handler text NOT NULL,
    -- Copied from the message, so a lane is one index range.
    incident_id bigint NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    not_before timestamptz NOT NULL,
    lease_until timestamptz,
    done_at timestamptz,
    failed_at timestamptz,
    error text,
    PRIMARY KEY (message_id, handler)
);

-- Only deliveries still to be made are ever searched, so the indexes cover only them and stay small.
CREATE INDEX ix_outbox_deliveries_pending ON outbox_deliveries (message_id) WHERE done_at IS NULL AND failed_at IS NULL;
CREATE INDEX ix_outbox_deliveries_lane ON outbox_deliveries (incident_id, handler, message_id) WHERE done_at IS NULL AND failed_at IS NULL;
