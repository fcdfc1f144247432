-- Adopts: storage 2
-- Slack front-end state (SQLite). Times are TEXT in DatabaseTime.IsoFormat.

-- Events API event_ids already handled: Slack retries reuse them.
CREATE TABLE slack_event_receipts (
    event_id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
) STRICT;

CREATE INDEX ix_slack_event_receipts_received_at ON slack_event_receipts (received_at);

-- War-room creation progress per incident, so a retry after a crash resumes instead of creating a second channel.
CREATE TABLE slack_war_rooms (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    channel_name TEXT NOT NULL,
    channel_id TEXT,
    invited INTEGER NOT NULL DEFAULT 0,
    topic_set INTEGER NOT NULL DEFAULT 0,
    announced INTEGER NOT NULL DEFAULT 0,
    linked INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
) STRICT;

-- The incident card message in each Slack channel, updated as the incident changes.
CREATE TABLE slack_cards (
    channel_id TEXT NOT NULL,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    message_ts TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (channel_id, incident_id)
) STRICT;

-- Posts already made for an outbox event, so a redelivered event is not posted twice.
CREATE TABLE slack_deliveries (
    delivery_key TEXT PRIMARY KEY,
    delivered_at TEXT NOT NULL
) STRICT;
