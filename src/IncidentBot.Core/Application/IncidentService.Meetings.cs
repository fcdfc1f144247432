using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

public sealed partial class IncidentService
{
    /// <summary>
    /// Records a meeting event (started, ended, someone joined or left) on the incident whose war room
    /// <paramref name="room"/> is, at the event's own time; null when the conversation is no war room.
    /// Front-ends dedupe redelivered events themselves: this always adds an entry.
    /// </summary>
    public async Task<IncidentResult?> RecordMeetingEventAsync(ChatSpace room, string text, DateTimeOffset occurredAt, Person? author, CancellationToken cancellationToken)
    {
        var line = RequireText(text, "the meeting event", MaxTextLength);
        var incident = await store.FindByWarRoomAsync(room, cancellationToken);
        if (incident is null)
        {
            return null;
        }

        return await ChangeAsync(incident.Number, (current, now) => new Decision(
            new IncidentChange(current, [new(occurredAt, TimelineKind.Meeting, author, line)], []) { AppendOnly = true },
            $"{current.Number}: meeting event recorded."), cancellationToken);
    }
}
