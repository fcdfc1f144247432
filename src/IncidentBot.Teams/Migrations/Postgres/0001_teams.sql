-- Adopts: storage 4
-- Teams front-end (IncidentBot.Teams). Times are timestamptz in UTC.

-- Where to reach a conversation proactively: the Bot Connector service URL it last came from.
CREATE TABLE teams_conversations (
    conversation_id text PRIMARY KEY,
    service_url text NOT NULL,
    tenant_id text,
    conversation_type text,
    team_id text,
    channel_id text,
    meeting_id text,
    bot_id text NOT NULL,
    bot_name text,
    updated_at timestamptz NOT NULL
);

-- One row per processed activity, so a redelivered activity is recognised and not acted on twice.
CREATE TABLE teams_activity_receipts (
    conversation_id text NOT NULL,
    activity_id text NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, activity_id)
);

CREATE INDEX ix_teams_activity_receipts_received_at ON teams_activity_receipts (received_at);

-- The incident card posted in each war room, updated in place (PUT) after every change.
CREATE TABLE teams_cards (
    incident_id bigint NOT NULL REFERENCES incidents (id),
    conversation_id text NOT NULL,
    activity_id text NOT NULL,
    posted_at timestamptz NOT NULL,
    PRIMARY KEY (incident_id, conversation_id)
);

-- Incident events already announced in a conversation; outbox delivery is at-least-once.
CREATE TABLE teams_deliveries (
    delivery_key text NOT NULL,
    conversation_id text NOT NULL,
    delivered_at timestamptz NOT NULL,
    PRIMARY KEY (delivery_key, conversation_id)
);
