-- The meeting bridges made for incidents (Teams:MeetingOrganizerId): one per request (the declare, each `bridge`),
-- the newest being the incident's bridge. A request Graph refused keeps its failure, shown on the card.
CREATE TABLE teams_meetings (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    request_key TEXT NOT NULL,
    organizer_id TEXT NOT NULL,
    meeting_id TEXT,
    join_url TEXT,
    thread_id TEXT,
    failure TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (incident_id, request_key)
) STRICT;

CREATE INDEX ix_teams_meetings_thread_id ON teams_meetings (thread_id);
