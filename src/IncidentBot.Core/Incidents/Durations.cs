namespace IncidentBot.Core.Incidents;

public static class Durations
{
    /// <summary>"2 d 3 h", "1 h 5 min", "42 min", "30 s": short and readable in a chat line.</summary>
    public static string Describe(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span switch
        {
            { TotalDays: >= 1 } => $"{(int)span.TotalDays} d {span.Hours} h",
            { TotalHours: >= 1 } => $"{(int)span.TotalHours} h {span.Minutes} min",
            { TotalMinutes: >= 1 } => $"{(int)span.TotalMinutes} min",
            _ => $"{(int)span.TotalSeconds} s",
        };
    }
}
