-- Teams' records of posts already made move to the one record of every platform (storage's chat_deliveries), their keys
-- rewritten from '<incident id>:<EventType>:<ticks>' (also 'ChannelFailed' for the declare, 'Archive' for the resolve) into
-- its one format, so an event redelivered after the upgrade finds its post made and is not posted again.
WITH
names (type_name, event_name) AS (VALUES
    ('IncidentDeclared', 'declared'),
    ('RoleAssigned', 'role_assigned'),
    ('SeverityChanged', 'severity_changed'),
    ('StatusChanged', 'status_changed'),
    ('UpdatePosted', 'update_posted'),
    ('NoteAdded', 'note_added'),
    ('IncidentAcknowledged', 'acknowledged'),
    ('IncidentResolved', 'resolved'),
    ('IncidentReopened', 'reopened'),
    ('PageRequested', 'page_requested'),
    ('UpdateSnoozed', 'update_snoozed'),
    ('ActionItemAdded', 'action_item_added'),
    ('WarRoomLinked', 'war_room_linked'),
    ('MessagePinned', 'message_pinned'),
    ('UpdateReminderDue', 'update_reminder_due'),
    ('CommanderMissing', 'commander_missing'),
    ('IncidentEscalated', 'escalated'),
    ('EscalationStateChanged', 'escalation_state_changed'),
    ('ChannelFailed', 'declared'),
    ('Archive', 'resolved')),
numbered AS (
    SELECT delivered_at, conversation_id, substr(delivery_key, 1, instr(delivery_key, ':') - 1) AS incident_id,
           substr(delivery_key, instr(delivery_key, ':') + 1) AS rest
    FROM teams_deliveries),
parts AS (
    SELECT delivered_at, conversation_id, incident_id,
           substr(rest, 1, instr(rest, ':') - 1) AS type_name, substr(rest, instr(rest, ':') + 1) AS ticks
    FROM numbered)
INSERT INTO chat_deliveries (platform, room, delivery_key, delivered_at)
SELECT 'teams', p.conversation_id,
       p.incident_id || ':' || COALESCE(n.event_name, p.type_name) || ':' || p.ticks || ':' || CASE p.type_name WHEN 'ChannelFailed' THEN 'report-failure' WHEN 'Archive' THEN 'archive' ELSE 'announce' END,
       p.delivered_at
FROM parts p LEFT JOIN names n ON n.type_name = p.type_name
WHERE true
ON CONFLICT DO NOTHING;

DROP TABLE teams_deliveries;
