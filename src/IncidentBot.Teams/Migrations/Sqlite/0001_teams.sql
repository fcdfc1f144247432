-- Adopts: storage 4
-- Teams front-end (IncidentBot.Teams). Times are TEXT in DatabaseTime.IsoFormat, UTC.

-- Where to reach a conversation proactively: the Bot Connector service URL it last came from.
CREATE TABLE teams_conversations (
    conversation_id TEXT PRIMARY KEY,
    service_url TEXT NOT NULL,
    tenant_id TEXT,
    conversation_type TEXT,
    team_id TEXT,
    channel_id TEXT,
    meeting_id TEXT,
    bot_id TEXT NOT NULL,
    bot_name TEXT,
    updated_at TEXT NOT NULL
) STRICT;

-- One row per processed activity, so a redelivered activity is recognised and not acted on twice.
CREATE TABLE teams_activity_receipts (
    conversation_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, activity_id)
) STRICT;

CREATE INDEX ix_teams_activity_receipts_received_at ON teams_activity_receipts (received_at);

-- The incident card posted in each war room, updated in place (PUT) after every change.
CREATE TABLE teams_cards (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    conversation_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, conversation_id)
) STRICT;

-- Incident events already announced in a conversation; outbox delivery is at-least-once.
CREATE TABLE teams_deliveries (
    delivery_key TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (delivery_key, conversation_id)
) STRICT;
