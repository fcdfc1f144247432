using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

public sealed partial class IncidentService
{
    /// <summary>Records what happened to a war room outside the chat (made, archived, could not be made), without an event.</summary>
    public Task<Incident?> RecordWarRoomAsync(IncidentNumber number, string text, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) => new IncidentChange(
            incident,
            [new(now, TimelineKind.System, null, Truncate(text, MaxTextLength))],
            []) { AppendOnly = true }, cancellationToken);
}
