namespace IncidentBot.Core.Incidents;

/// <summary>The lifecycle: investigating → identified → monitoring → resolved (reopen goes back).</summary>
public enum IncidentStatus
{
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

public static class IncidentStatusText
{
    public static string ToToken(this IncidentStatus status) => status.ToString().ToLowerInvariant();

    public static bool TryParse(string? text, out IncidentStatus status)
    {
        status = default;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "investigating":
                status = IncidentStatus.Investigating;
                return true;
            case "identified":
                status = IncidentStatus.Identified;
                return true;
            case "monitoring":
            case "mitigated":
                status = IncidentStatus.Monitoring;
                return true;
            case "resolved":
                status = IncidentStatus.Resolved;
                return true;
            default:
                return false;
        }
    }
}
