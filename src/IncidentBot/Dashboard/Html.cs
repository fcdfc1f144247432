using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Dashboard;

/// <summary>Small helpers for server-rendered pages; everything user-provided goes through <see cref="E"/>.</summary>
internal static class Html
{
    public static string E(string? text) => HtmlEncoder.Default.Encode(text ?? string.Empty);

    /// <summary>A UTC time that the page script shows in the viewer's zone, with UTC on hover.</summary>
    public static string Time(DateTimeOffset? time)
    {
        if (time is not { } t)
        {
            return "<span class=\"muted\">—</span>";
        }

        var utc = t.UtcDateTime;
        var iso = utc.ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var text = utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        return $"<time datetime=\"{iso}\" title=\"{text}\">{text}</time>";
    }

    public static string Span(TimeSpan? span) => span is { } s ? E(Durations.Describe(s)) : "<span class=\"muted\">—</span>";

    public static string SeverityBadge(Severity severity) =>
        $"<span class=\"badge sev sev{(int)severity}\">{severity.ToLabel()}</span>";

    public static string StatusBadge(IncidentStatus status) =>
        $"<span class=\"badge status status-{status.ToToken()}\">{status.ToToken()}</span>";

    public static string IncidentLink(Incident incident) =>
        $"<a href=\"/incidents/{incident.Number}\">{incident.Number}</a>";

    public static string Page(string title, string body, string active = "")
    {
        var page = new StringBuilder();
        page.Append(CultureInfo.InvariantCulture, $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)} · IncidentBot</title>
            <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
            <script src="/dashboard/assets/dashboard.js" defer></script>
            </head>
            <body>
            <header class="top">
              <a class="brand" href="/">IncidentBot</a>
              <nav>
                <a href="/"{(active == "incidents" ? " aria-current=\"page\"" : "")}>Incidents</a>
                <a href="/metrics"{(active == "metrics" ? " aria-current=\"page\"" : "")}>Metrics</a>
                <a href="/signout" class="signout">Sign out</a>
              </nav>
            </header>
            <main>
            """);
        page.Append(body);
        page.Append("</main></body></html>");
        return page.ToString();
    }
}
