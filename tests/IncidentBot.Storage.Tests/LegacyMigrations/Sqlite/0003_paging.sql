-- Paging ledger (SQLite). One row per page action and target, inserted before the request is sent: the
-- UNIQUE key makes a second send of the same page impossible whatever crashes or retries happen.
-- generation is the start of the escalation run (unix microseconds), so a reopen pages afresh.
CREATE TABLE page_ledger (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    action TEXT NOT NULL,
    level INTEGER NOT NULL,
    loop INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    claimed_until TEXT NOT NULL,
    completed_at TEXT,
    error TEXT,
    CONSTRAINT ux_page_ledger_key UNIQUE (incident_id, action, level, loop, generation, target)
) STRICT;

CREATE INDEX ix_page_ledger_incident ON page_ledger (incident_id, action, status);
