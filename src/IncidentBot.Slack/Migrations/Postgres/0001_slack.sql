-- Adopts: storage 2
-- Slack front-end state (PostgreSQL).

-- Events API event_ids already handled: Slack retries reuse them.
CREATE TABLE slack_event_receipts (
    event_id text PRIMARY KEY,
    received_at timestamptz NOT NULL
);

CREATE INDEX ix_slack_event_receipts_received_at ON slack_event_receipts (received_at);

-- War-room creation progress per incident, so a retry after a crash resumes instead of creating a second channel.
CREATE TABLE slack_war_rooms (
    incident_id bigint PRIMARY KEY REFERENCES incidents (id),
    channel_name text NOT NULL,
    channel_id text,
    invited boolean NOT NULL DEFAULT false,
    topic_set boolean NOT NULL DEFAULT false,
    announced boolean NOT NULL DEFAULT false,
    linked boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL
);

-- The incident card message in each Slack channel, updated as the incident changes.
CREATE TABLE slack_cards (
    channel_id text NOT NULL,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    message_ts text NOT NULL,
    posted_at timestamptz NOT NULL,
    PRIMARY KEY (channel_id, incident_id)
);

-- Posts already made for an outbox event, so a redelivered event is not posted twice.
CREATE TABLE slack_deliveries (
    delivery_key text PRIMARY KEY,
    delivered_at timestamptz NOT NULL
);
