namespace IncidentBot.Core.Incidents;

/// <summary>How often status updates are due per severity; <c>null</c> means no reminders.</summary>
public sealed class UpdateCadence
{
    public const string Section = "Reminders";

    public TimeSpan? Sev1 { get; set; } = TimeSpan.FromMinutes(15);
    public TimeSpan? Sev2 { get; set; } = TimeSpan.FromMinutes(30);
    public TimeSpan? Sev3 { get; set; }
    public TimeSpan? Sev4 { get; set; }

    public TimeSpan? For(Severity severity) => severity switch
    {
        Severity.Sev1 => Sev1,
        Severity.Sev2 => Sev2,
        Severity.Sev3 => Sev3,
        Severity.Sev4 => Sev4,
        _ => null,
    };

    public DateTimeOffset? NextDue(Severity severity, DateTimeOffset from) =>
        For(severity) is { } interval && interval > TimeSpan.Zero ? from + interval : null;
}
