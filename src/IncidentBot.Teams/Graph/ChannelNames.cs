using System.Globalization;
using System.Text;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Teams.Graph;

/// <summary>
/// Incident channel names within Graph's rules: at most 50 characters, none of <c>~ # % &amp; * { } + / \ : &lt; &gt; ? | ' "</c>,
/// no leading <c>_</c> or <c>.</c>, no trailing <c>.</c>. Only lower-case letters, digits and hyphens are used, so all hold.
/// </summary>
public static class ChannelNames
{
    public const int MaxLength = 50;

    /// <summary><c>inc-42-checkout-is-down</c>; from the second try on, <c>-2</c>, <c>-3</c>… (for <c>NameAlreadyExists</c>).</summary>
    public static string For(IncidentNumber number, string title, int attempt = 1)
    {
        var suffix = attempt > 1 ? "-" + attempt.ToString(CultureInfo.InvariantCulture) : "";
        var slug = Slug(title);
        var name = "inc-" + number.Value.ToString(CultureInfo.InvariantCulture) + (slug.Length > 0 ? "-" + slug : "");
        var room = MaxLength - suffix.Length;
        if (name.Length > room)
        {
            name = name[..room].TrimEnd('-');
        }

        return name + suffix;
    }

    private static string Slug(string title)
    {
        var slug = new StringBuilder(title.Length);
        foreach (var c in title.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }

        return slug.ToString().TrimEnd('-');
    }
}
