using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Outbound;

namespace IncidentBot.Teams.Meetings;

/// <summary>
/// The bridges the war-room projection does not make, in a lane of their own: each <c>bridge</c> request, and the bridge
/// of an incident declared elsewhere (Slack, the API). An incident declared in Teams gets its bridge as its room opens.
/// </summary>
public sealed class BridgeRequestHandler(MeetingBridge bridge, TeamsWarRoom warRoom) : IIncidentEventHandler
{
    public string Name => "teams-bridge";

    public string Destination => "Teams (meeting bridge)";

    public bool Receives(Type eventType) => bridge.Enabled && (eventType == typeof(BridgeRequested) || eventType == typeof(IncidentDeclared));

    public Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken) => incidentEvent switch
    {
        _ when !bridge.Enabled => Task.CompletedTask,
        BridgeRequested requested => warRoom.OpenBridgeAsync(requested, MeetingBridge.RequestKey(requested), cancellationToken),
        IncidentDeclared { Origin.Platform: not TeamsIds.Platform } declared => warRoom.OpenBridgeAsync(declared, MeetingBridge.DeclaredRequest, cancellationToken),
        _ => Task.CompletedTask,
    };
}
