using System.Globalization;

namespace IncidentBot.Core.Incidents;

/// <summary>The human number of an incident, shown as <c>INC-42</c>.</summary>
public readonly record struct IncidentNumber(int Value)
{
    public const string Prefix = "INC-";

    public override string ToString() => Prefix + Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Accepts <c>INC-42</c>, <c>inc-42</c>, <c>#42</c> and <c>42</c>.</summary>
    public static bool TryParse(string? text, out IncidentNumber number)
    {
        number = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.Trim().AsSpan();
        if (span.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            span = span[Prefix.Length..];
        }
        else if (span.StartsWith("#"))
        {
            span = span[1..];
        }

        if (int.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            number = new IncidentNumber(value);
            return true;
        }

        return false;
    }
}
