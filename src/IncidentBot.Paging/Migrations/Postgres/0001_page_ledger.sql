-- Adopts: storage 3
-- Paging ledger (PostgreSQL). One row per page action and target, inserted before the request is sent: the
-- UNIQUE key makes a second send of the same page impossible whatever crashes or retries happen.
-- generation is the start of the escalation run (unix microseconds), so a reopen pages afresh.
CREATE TABLE page_ledger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    action text NOT NULL,
    level integer NOT NULL,
    loop integer NOT NULL,
    generation bigint NOT NULL,
    target text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    created_at timestamptz NOT NULL,
    claimed_until timestamptz NOT NULL,
    completed_at timestamptz,
    error text,
    CONSTRAINT ux_page_ledger_key UNIQUE (incident_id, action, level, loop, generation, target)
);

CREATE INDEX ix_page_ledger_incident ON page_ledger (incident_id, action, status);
