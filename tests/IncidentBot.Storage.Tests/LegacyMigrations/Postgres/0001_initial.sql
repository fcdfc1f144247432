-- IncidentBot schema, version 1 (PostgreSQL). Times are timestamptz, written in UTC to the microsecond.

-- One row; UPDATE ... RETURNING on it hands out incident numbers, serialized by its row lock.
CREATE TABLE incident_counter (
    id integer PRIMARY KEY CHECK (id = 1),
    last_number integer NOT NULL
);

INSERT INTO incident_counter (id, last_number) VALUES (1, 0);

CREATE TABLE incidents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number integer NOT NULL,
    title text NOT NULL,
    description text,
    severity integer NOT NULL,
    status text NOT NULL,
    declared_by_platform text NOT NULL,
    declared_by_user_id text NOT NULL,
    declared_by_name text NOT NULL,
    declared_at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    mitigated_at timestamptz,
    resolved_at timestamptz,
    last_update_at timestamptz,
    next_update_due_at timestamptz,
    summary text,
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT ux_incidents_number UNIQUE (number)
);

CREATE INDEX ix_incidents_status ON incidents (status);
CREATE INDEX ix_incidents_declared_at ON incidents (declared_at DESC, number DESC);

CREATE TABLE role_assignments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    role text NOT NULL,
    holder_platform text NOT NULL,
    holder_user_id text NOT NULL,
    holder_name text NOT NULL,
    assigned_by_platform text,
    assigned_by_user_id text,
    assigned_by_name text,
    assigned_at timestamptz NOT NULL,
    ended_at timestamptz
);

-- The current holder of a role is the assignment that has not ended; there is at most one.
CREATE UNIQUE INDEX ux_role_assignments_current ON role_assignments (incident_id, role) WHERE ended_at IS NULL;
CREATE INDEX ix_role_assignments_incident ON role_assignments (incident_id, assigned_at, id);

CREATE TABLE timeline_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    occurred_at timestamptz NOT NULL,
    kind text NOT NULL,
    author_platform text,
    author_user_id text,
    author_name text,
    text text NOT NULL,
    pinned boolean NOT NULL DEFAULT FALSE,
    source_platform text,
    source_channel text,
    source_message_id text,
    created_at timestamptz NOT NULL,
    edited_at timestamptz,
    deleted_at timestamptz,
    -- Deletes are soft, so the key still dedupes a chat message redelivered after it was deleted.
    CONSTRAINT ux_timeline_entries_source UNIQUE (source_platform, source_channel, source_message_id)
);

CREATE INDEX ix_timeline_entries_incident ON timeline_entries (incident_id, occurred_at, id);

CREATE TABLE action_items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    text text NOT NULL,
    owner_platform text,
    owner_user_id text,
    owner_name text,
    created_by_platform text,
    created_by_user_id text,
    created_by_name text,
    created_at timestamptz NOT NULL,
    done_at timestamptz
);

CREATE INDEX ix_action_items_incident ON action_items (incident_id, created_at, id);

CREATE TABLE war_rooms (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    platform text NOT NULL,
    channel text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT ux_war_rooms_channel UNIQUE (platform, channel)
);

CREATE INDEX ix_war_rooms_incident ON war_rooms (incident_id);

CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    available_at timestamptz NOT NULL,
    locked_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    delivered_at timestamptz,
    failed_at timestamptz,
    last_error text
);

-- Only pending messages are ever searched, so the indexes cover only them and stay small.
CREATE INDEX ix_outbox_pending ON outbox (id) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX ix_outbox_pending_incident ON outbox (incident_id, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
