namespace IncidentBot.Core.Incidents;

/// <summary>The response roles; each has at most one holder at a time.</summary>
public enum IncidentRole
{
    Commander,
    Lead,
    Comms,
    Scribe,
}

public static class IncidentRoleText
{
    public static IReadOnlyList<IncidentRole> All { get; } = Enum.GetValues<IncidentRole>();

    /// <summary>The short token used in commands and the API: ic, lead, comms, scribe.</summary>
    public static string ToToken(this IncidentRole role) => role switch
    {
        IncidentRole.Commander => "ic",
        IncidentRole.Lead => "lead",
        IncidentRole.Comms => "comms",
        IncidentRole.Scribe => "scribe",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static string ToTitle(this IncidentRole role) => role switch
    {
        IncidentRole.Commander => "Incident commander",
        IncidentRole.Lead => "Tech lead",
        IncidentRole.Comms => "Comms lead",
        IncidentRole.Scribe => "Scribe",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static bool TryParse(string? text, out IncidentRole role)
    {
        role = default;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "ic":
            case "commander":
            case "incident-commander":
                role = IncidentRole.Commander;
                return true;
            case "lead":
            case "tech-lead":
            case "techlead":
            case "tl":
                role = IncidentRole.Lead;
                return true;
            case "comms":
            case "comms-lead":
            case "communications":
                role = IncidentRole.Comms;
                return true;
            case "scribe":
                role = IncidentRole.Scribe;
                return true;
            default:
                return false;
        }
    }
}
