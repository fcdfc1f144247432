using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

public sealed partial class IncidentService
{
    /// <summary>
    /// Records a meeting event (started, ended, someone joined or left) on the incident whose war room
    /// <paramref name="room"/> is, at the event's own time; null when the conversation is no war room.
    /// Front-ends dedupe redelivered events themselves: this always adds an entry. An <paramref name="ended"/> meeting
    /// also raises <see cref="MeetingEnded"/>, so its transcript is fetched from the outbox.
    /// </summary>
    public async Task<IncidentResult?> RecordMeetingEventAsync(
        ChatSpace room, string text, DateTimeOffset occurredAt, Person? author, CancellationToken cancellationToken, bool ended = false)
    {
        var line = RequireText(text, "the meeting event", MaxTextLength);
        var incident = await store.FindByWarRoomAsync(room, cancellationToken);
        if (incident is null)
        {
            return null;
        }

        return await ChangeAsync(incident.Number, (current, now) => new Decision(
            new IncidentChange(
                current,
                [new(occurredAt, TimelineKind.Meeting, author, line)],
                ended ? [new MeetingEnded(room) { IncidentId = current.Id, Number = current.Number, OccurredAt = now, Actor = author, Origin = room }] : [])
            { AppendOnly = true },
            $"{current.Number}: meeting event recorded."), cancellationToken);
    }

    /// <summary><c>bridge</c>: asks the front-end that makes meeting bridges for a new one (<see cref="BridgeRequested"/>).</summary>
    public Task<IncidentResult> RequestBridgeAsync(IncidentNumber number, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) => new Decision(
            new IncidentChange(
                incident,
                [new(now, TimelineKind.System, actor.Person, $"{actor.Person.DisplayName} asked for a new meeting bridge.")],
                [Stamp(new BridgeRequested(), incident, now, actor)])
            { AppendOnly = true },
            $"{incident.Number}: a new meeting bridge is on its way; its join link follows here."), cancellationToken);

    /// <summary>
    /// Adds the lines of a meeting transcript to the timeline in one change (all or nothing); each must be a
    /// <see cref="TimelineKind.Transcript"/> entry. Null when there is no such incident.
    /// </summary>
    public Task<Incident?> RecordTranscriptAsync(IncidentNumber number, IReadOnlyList<NewTimelineEntry> lines, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lines);
        if (lines.Any(l => l.Kind != TimelineKind.Transcript))
        {
            throw new ArgumentException("Only transcript entries belong to a transcript.", nameof(lines));
        }

        var entries = lines.Select(l => l with { Text = Truncate(l.Text, MaxTextLength) }).ToList();
        return TryChangeAsync(number, (incident, now) => new IncidentChange(incident, entries, []) { AppendOnly = true }, cancellationToken);
    }
}
