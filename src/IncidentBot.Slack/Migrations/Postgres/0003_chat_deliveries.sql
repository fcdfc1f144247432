-- Slack's records of posts already made move to the one record of every platform (storage's chat_deliveries), their keys
-- rewritten from '<EventType>:<incident id>:<ticks>:<channel>' (archives: 'Archive:' + that) into its one format, so an
-- event redelivered after the upgrade finds its post made and is not posted again.
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
    ('EscalationStateChanged', 'escalation_state_changed')),
keyed AS (
    SELECT delivered_at,
           CASE WHEN delivery_key LIKE 'Archive:%' THEN 'archive' END AS step,
           CASE WHEN delivery_key LIKE 'Archive:%' THEN substr(delivery_key, 9) ELSE delivery_key END AS rest
    FROM slack_deliveries),
parts AS (
    SELECT delivered_at, step, split_part(rest, ':', 1) AS type_name, split_part(rest, ':', 2) AS incident_id,
           split_part(rest, ':', 3) AS ticks, split_part(rest, ':', 4) AS channel
    FROM keyed)
INSERT INTO chat_deliveries (platform, room, delivery_key, delivered_at)
SELECT 'slack', p.channel,
       p.incident_id || ':' || COALESCE(n.event_name, p.type_name) || ':' || p.ticks || ':'
           || COALESCE(p.step, CASE WHEN p.type_name = 'MessagePinned' THEN 'confirm-pin' ELSE 'announce' END),
       p.delivered_at
FROM parts p LEFT JOIN names n ON n.type_name = p.type_name
ON CONFLICT DO NOTHING;

DROP TABLE slack_deliveries;
