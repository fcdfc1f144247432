using System.Globalization;
using System.Text;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Slack.Outbound;

/// <summary>War-room channel names: <c>&lt;prefix&gt;-&lt;number&gt;-&lt;slug&gt;</c>, lowercase letters, digits, '-' and '_', at most 80 characters.</summary>
public static class ChannelNames
{
    public const int MaxLength = 80;

    public static string For(string prefix, IncidentNumber number, string title, int variant = 1)
    {
        var head = $"{prefix}-{number.Value.ToString(CultureInfo.InvariantCulture)}";
        var tail = variant > 1 ? "-" + variant.ToString(CultureInfo.InvariantCulture) : "";
        var room = MaxLength - head.Length - tail.Length - 1;
        var slug = Slug(title);
        if (slug.Length > room)
        {
            slug = slug[..room].TrimEnd('-');
        }

        return slug.Length == 0 ? head + tail : $"{head}-{slug}{tail}";
    }

    public static string Slug(string text)
    {
        var slug = new StringBuilder(text.Length);
        foreach (var c in text.Normalize(NormalizationForm.FormD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            var lower = char.ToLowerInvariant(c);
            if (lower is >= 'a' and <= 'z' or >= '0' and <= '9' or '_')
            {
                slug.Append(lower);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }

        return slug.ToString().Trim('-');
    }
}
