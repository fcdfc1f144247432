using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

public sealed partial class IncidentService
{
    /// <summary>
    /// Pins or unpins a war-room message like <see cref="SetPinnedAsync"/>, and records a
    /// <see cref="MessagePinned"/> event so front-ends can confirm it (or fetch a message that was never
    /// captured) from the outbox. Returns null when the conversation is not a war room.
    /// </summary>
    public async Task<TimelineEntry?> RecordPinAsync(MessageRef source, bool pinned, CapturedMessage? content, Actor actor, CancellationToken cancellationToken)
    {
        var incident = await store.FindByWarRoomAsync(source.Space, cancellationToken);
        if (incident is null)
        {
            return null;
        }

        var entry = await SetPinnedAsync(source, pinned, content, cancellationToken);
        await ChangeAsync(incident.Number, (current, now) => new Decision(
            new IncidentChange(current, [], [Stamp(new MessagePinned(source, pinned), current, now, actor)]) { AppendOnly = true },
            pinned ? $"{current.Number}: message pinned." : $"{current.Number}: message unpinned."), cancellationToken);
        return entry;
    }
}
