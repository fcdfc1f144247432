namespace IncidentBot.Core.Incidents;

public enum TimelineKind
{
    Message,
    Note,
    Update,
    Status,
    Severity,
    Role,
    Page,
    Meeting,
    System,
}

public static class TimelineKindText
{
    public static string ToToken(this TimelineKind kind) => kind.ToString().ToLowerInvariant();

    public static TimelineKind Parse(string token) => Enum.Parse<TimelineKind>(token, ignoreCase: true);
}
