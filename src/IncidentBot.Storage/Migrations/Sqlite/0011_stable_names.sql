-- Stable names (SQLite). Times are TEXT in DatabaseTime.IsoFormat, UTC.
--
-- Outbox lanes were keyed by the handler type's full name; each handler now names itself with a short constant, so
-- renaming a class cannot strand its pending events. The lanes of the three handlers of earlier builds move to their
-- new names here, pending ones included, so nothing waiting at the upgrade is lost.
UPDATE outbox_deliveries SET handler = 'slack' WHERE handler = 'IncidentBot.Slack.Outbound.SlackIncidentEventHandler';
UPDATE outbox_deliveries SET handler = 'teams' WHERE handler = 'IncidentBot.Teams.Events.TeamsWarRoomHandler';
UPDATE outbox_deliveries SET handler = 'reminders' WHERE handler = 'IncidentBot.Scheduling.ReminderEventHandler';

-- One record per post (or other one-off step) made for one incident event in one war room, whichever chat platform:
-- outbox delivery is at-least-once, so a redelivered event finds its post made and is not posted twice. The key is
-- '<incident id>:<event name>:<event time in ticks>:<step>' (IncidentBot.Core.WarRooms.DeliveryKey). The Slack and
-- Teams delivery tables of earlier builds are moved in here by their own sets' next scripts.
CREATE TABLE chat_deliveries (
    platform TEXT NOT NULL,
    room TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (platform, room, delivery_key)
) STRICT;

-- Retention deletes delivery records by age.
CREATE INDEX ix_chat_deliveries_delivered_at ON chat_deliveries (delivered_at);
