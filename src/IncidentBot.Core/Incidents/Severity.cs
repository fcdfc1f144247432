namespace IncidentBot.Core.Incidents;

/// <summary>Incident severity; SEV1 is the most severe.</summary>
public enum Severity
{
    Sev1 = 1,
    Sev2 = 2,
    Sev3 = 3,
    Sev4 = 4,
}

public static class SeverityText
{
    public static string ToLabel(this Severity severity) => $"SEV{(int)severity}";

    /// <summary>Accepts <c>1</c>, <c>sev1</c>, <c>SEV1</c>, <c>s1</c>.</summary>
    public static bool TryParse(string? text, out Severity severity)
    {
        severity = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var digits = text.Trim().ToLowerInvariant() switch
        {
            var t when t.StartsWith("sev", StringComparison.Ordinal) => t[3..],
            var t when t.StartsWith('s') => t[1..],
            var t => t,
        };
        if (int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 4)
        {
            severity = (Severity)n;
            return true;
        }

        return false;
    }
}
