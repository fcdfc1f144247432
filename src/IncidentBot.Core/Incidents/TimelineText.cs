using System.Text.RegularExpressions;

namespace IncidentBot.Core.Incidents;

/// <summary>
/// Sentences the engine writes into the timeline that are read back later (the postmortem rebuilds the
/// severity history from them), so writing and reading stay in one place.
/// </summary>
public static partial class TimelineText
{
    public static string SeverityChanged(Severity from, Severity to) => $"Severity changed from {from.ToLabel()} to {to.ToLabel()}";

    public static bool TryParseSeverityChange(string text, out Severity from, out Severity to)
    {
        from = to = default;
        var match = SeverityChangePattern().Match(text);
        return match.Success &&
            SeverityText.TryParse(match.Groups[1].Value, out from) &&
            SeverityText.TryParse(match.Groups[2].Value, out to);
    }

    /// <summary>What people read when a delivery of <paramref name="incidentEvent"/> to <paramref name="destination"/> is given up.</summary>
    public static string DeliveryGivenUp(IncidentEvent incidentEvent, string destination, int attempts) =>
        $"IncidentBot gave up delivering {What(incidentEvent)} to {destination} after {attempts} attempts";

    private static string What(IncidentEvent incidentEvent) => incidentEvent switch
    {
        IncidentDeclared => "the new incident (its war room and card)",
        RoleAssigned r => $"a role change ({r.Role.ToTitle()})",
        SeverityChanged s => $"the severity change to {s.To.ToLabel()}",
        StatusChanged s => $"the status change to {s.To.ToToken()}",
        UpdatePosted => "a status update",
        NoteAdded => "a note",
        IncidentAcknowledged => "the acknowledgement",
        IncidentResolved => "the resolution",
        IncidentReopened => "the reopening",
        PageRequested => "a page request",
        UpdateSnoozed => "the snoozed reminder",
        ActionItemAdded => "an action item",
        WarRoomLinked l => $"the war room link of {l.Room.Channel}",
        MessagePinned p => p.Pinned ? "a pin" : "an unpin",
        UpdateReminderDue => "a status-update reminder",
        CommanderMissing => "a missing-commander reminder",
        IncidentEscalated e => $"the escalation to level {e.Level}",
        _ => incidentEvent.GetType().Name,
    };

    [GeneratedRegex(@"^Severity changed from (SEV[1-4]) to (SEV[1-4])$")]
    private static partial Regex SeverityChangePattern();
}
