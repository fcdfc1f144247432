using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Meetings;

namespace IncidentBot.Teams.Cards;

/// <summary>The incident card as it stands now: the incident, its escalation and its meeting bridge.</summary>
public sealed class IncidentCardSource(IEscalationStateReader escalation, MeetingStore meetings)
{
    public async Task<JsonObject> RenderAsync(Incident incident, CancellationToken cancellationToken) =>
        IncidentCards.Incident(
            incident,
            await escalation.ReadAsync(incident, cancellationToken),
            await meetings.CurrentAsync(incident.Id, cancellationToken));
}
