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

    [GeneratedRegex(@"^Severity changed from (SEV[1-4]) to (SEV[1-4])$")]
    private static partial Regex SeverityChangePattern();
}
