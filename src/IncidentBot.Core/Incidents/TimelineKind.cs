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

    /// <summary>A line of a meeting transcript, attributed to its speaker.</summary>
    Transcript,
}

public static class TimelineKindText
{
    public static string ToToken(this TimelineKind kind) => kind.ToString().ToLowerInvariant();

    public static TimelineKind Parse(string token) => Enum.Parse<TimelineKind>(token, ignoreCase: true);
}
