using System.Globalization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Paging.Inbound;

/// <summary>Which incident an alert belongs to, read back from the dedup key (PagerDuty) or alias (Opsgenie) the bot gave it.</summary>
public static class AlertKeys
{
    private const string Prefix = "incidentbot-";

    /// <summary>
    /// Accepts the first page's key (<c>incidentbot-INC-42</c>) and those of later escalations of the same incident
    /// (<c>incidentbot-INC-42-2</c>, <c>-3</c>, …); anything else (another integration's alert) is not ours.
    /// </summary>
    public static bool TryParseIncident(string? key, out IncidentNumber number)
    {
        number = default;
        if (key is null || !key.StartsWith(Prefix + IncidentNumber.Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key.AsSpan((Prefix + IncidentNumber.Prefix).Length);
        var dash = rest.IndexOf('-');
        if (dash >= 0 && !(IsNumber(rest[(dash + 1)..], out var sequence) && sequence >= 2))
        {
            return false;
        }

        if (!IsNumber(dash < 0 ? rest : rest[..dash], out var value))
        {
            return false;
        }

        number = new IncidentNumber(value);
        return true;
    }

    private static bool IsNumber(ReadOnlySpan<char> digits, out int value) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0 && digits[0] != '0';
}
