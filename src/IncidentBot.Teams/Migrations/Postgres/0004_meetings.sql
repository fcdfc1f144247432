-- The meeting bridges made for incidents (Teams:MeetingOrganizerId): one per request (the declare, each `bridge`),
-- the newest being the incident's bridge. A request Graph refused keeps its failure, shown on the card.
CREATE TABLE teams_meetings (
    incident_id bigint NOT NULL REFERENCES incidents (id),
    request_key text NOT NULL,
    organizer_id text NOT NULL,
    meeting_id text,
    join_url text,
    thread_id text,
    failure text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (incident_id, request_key)
);

CREATE INDEX ix_teams_meetings_thread_id ON teams_meetings (thread_id);
