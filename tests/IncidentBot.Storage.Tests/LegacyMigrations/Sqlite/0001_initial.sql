-- IncidentBot schema, version 1 (SQLite). Times are TEXT in DatabaseTime.IsoFormat
-- (yyyy-MM-ddTHH:mm:ss.ffffffZ, UTC): fixed width, so comparing and sorting the text compares times.

-- One row; UPDATE ... RETURNING on it hands out incident numbers inside the writer's transaction.
CREATE TABLE incident_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_number INTEGER NOT NULL
) STRICT;

INSERT INTO incident_counter (id, last_number) VALUES (1, 0);

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    severity INTEGER NOT NULL,
    status TEXT NOT NULL,
    declared_by_platform TEXT NOT NULL,
    declared_by_user_id TEXT NOT NULL,
    declared_by_name TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    acknowledged_at TEXT,
    mitigated_at TEXT,
    resolved_at TEXT,
    last_update_at TEXT,
    next_update_due_at TEXT,
    summary TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT ux_incidents_number UNIQUE (number)
) STRICT;

CREATE INDEX ix_incidents_status ON incidents (status);
CREATE INDEX ix_incidents_declared_at ON incidents (declared_at DESC, number DESC);

CREATE TABLE role_assignments (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    role TEXT NOT NULL,
    holder_platform TEXT NOT NULL,
    holder_user_id TEXT NOT NULL,
    holder_name TEXT NOT NULL,
    assigned_by_platform TEXT,
    assigned_by_user_id TEXT,
    assigned_by_name TEXT,
    assigned_at TEXT NOT NULL,
    ended_at TEXT
) STRICT;

-- The current holder of a role is the assignment that has not ended; there is at most one.
CREATE UNIQUE INDEX ux_role_assignments_current ON role_assignments (incident_id, role) WHERE ended_at IS NULL;
CREATE INDEX ix_role_assignments_incident ON role_assignments (incident_id, assigned_at, id);

CREATE TABLE timeline_entries (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    occurred_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    author_platform TEXT,
    author_user_id TEXT,
    author_name TEXT,
    text TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    source_platform TEXT,
    source_channel TEXT,
    source_message_id TEXT,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    deleted_at TEXT,
    -- Deletes are soft, so the key still dedupes a chat message redelivered after it was deleted.
    CONSTRAINT ux_timeline_entries_source UNIQUE (source_platform, source_channel, source_message_id)
) STRICT;

CREATE INDEX ix_timeline_entries_incident ON timeline_entries (incident_id, occurred_at, id);

CREATE TABLE action_items (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    text TEXT NOT NULL,
    owner_platform TEXT,
    owner_user_id TEXT,
    owner_name TEXT,
    created_by_platform TEXT,
    created_by_user_id TEXT,
    created_by_name TEXT,
    created_at TEXT NOT NULL,
    done_at TEXT
) STRICT;

CREATE INDEX ix_action_items_incident ON action_items (incident_id, created_at, id);

CREATE TABLE war_rooms (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CONSTRAINT ux_war_rooms_channel UNIQUE (platform, channel)
) STRICT;

CREATE INDEX ix_war_rooms_incident ON war_rooms (incident_id);

-- AUTOINCREMENT: ids never go back, even after delivered messages are purged, because per-incident
-- order is id order.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    created_at TEXT NOT NULL,
    available_at TEXT NOT NULL,
    locked_until TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    failed_at TEXT,
    last_error TEXT
) STRICT;

-- Only pending messages are ever searched, so the indexes cover only them and stay small.
CREATE INDEX ix_outbox_pending ON outbox (id) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX ix_outbox_pending_incident ON outbox (incident_id, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
