using System.Globalization;
using System.Text;
using IncidentBot.Api;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;
using static IncidentBot.Dashboard.Html;

namespace IncidentBot.Dashboard;

/// <summary>The server-rendered dashboard: incidents, one incident with its timeline and postmortem, metrics.</summary>
internal static class DashboardPages
{
    private const int RecentLimit = 50;

    public static IHostApplicationBuilder AddDashboard(this IHostApplicationBuilder builder)
    {
        builder.AddDashboardSessions();
        return builder;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dashboard/assets/{name}", Asset);
        app.MapSignIn();

        var pages = app.MapGroup("/").AddEndpointFilter<DashboardAccessFilter>();
        pages.MapGet("/", ListAsync);
        pages.MapGet("/incidents/{number}", IncidentAsync);
        pages.MapGet("/incidents/{number}/postmortem.md", DownloadPostmortemAsync);
        pages.MapGet("/metrics", MetricsAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(
        IIncidentStore store, TimeProvider time, AccessPolicy access, HttpContext http,
        string? status, string? severity, string? from, string? to, string? q, CancellationToken ct)
    {
        var filter = new IncidentQuery(Limit: 500) { TitleContains = string.IsNullOrWhiteSpace(q) ? null : q.Trim(), PublicOnly = !access.SeesPrivate(http) };
        var errors = new List<string>();
        if (!string.IsNullOrEmpty(severity))
        {
            if (SeverityText.TryParse(severity, out var sev))
            {
                filter = filter with { Severity = sev };
            }
            else
            {
                errors.Add("Severity must be SEV1 to SEV4.");
            }
        }

        if (ParseDate(from, "From", errors) is { } fromDate)
        {
            filter = filter with { DeclaredFrom = fromDate };
        }

        if (ParseDate(to, "To", errors) is { } toDate)
        {
            filter = filter with { DeclaredBefore = toDate.AddDays(1) };
        }

        if (status is not (null or "" or "all" or "open" or "resolved"))
        {
            errors.Add("Status must be open, resolved or all.");
        }

        var body = new StringBuilder();
        body.Append("<h1>Incidents</h1>");
        body.Append(FilterForm(status, severity, from, to, q));
        if (errors.Count > 0)
        {
            body.Append("<p class=\"error\" role=\"alert\">").Append(E(string.Join(" ", errors))).Append("</p>");
            return Results.Content(Page("Incidents", body.ToString(), "incidents"), "text/html; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
        }

        var now = time.GetUtcNow();
        if (status is not "resolved")
        {
            var open = await store.ListAsync(filter with { OpenOnly = true }, ct);
            body.Append("<section><h2>Open</h2>");
            body.Append(open.Count == 0 ? "<p class=\"muted\">No open incidents.</p>" : IncidentTable(open, now, includeDue: true));
            body.Append("</section>");
        }

        if (status is not "open")
        {
            var recent = await store.ListAsync(filter with { ResolvedOnly = true, Limit = RecentLimit }, ct);
            body.Append("<section><h2>Recently resolved</h2>");
            body.Append(recent.Count == 0 ? "<p class=\"muted\">Nothing resolved matches.</p>" : IncidentTable(recent, now, includeDue: false));
            body.Append("</section>");
        }

        return Results.Content(Page("Incidents", body.ToString(), "incidents"), "text/html; charset=utf-8");
    }

    private static string FilterForm(string? status, string? severity, string? from, string? to, string? q)
    {
        string Option(string value, string label, string? current) =>
            $"<option value=\"{value}\"{(string.Equals(value, current, StringComparison.OrdinalIgnoreCase) ? " selected" : "")}>{label}</option>";

        return $"""
            <form class="filters" method="get" action="/">
              <label>Search <input type="search" name="q" value="{E(q)}" placeholder="title"></label>
              <label>Status <select name="status">{Option("all", "all", status ?? "all")}{Option("open", "open", status)}{Option("resolved", "resolved", status)}</select></label>
              <label>Severity <select name="severity">{Option("", "any", severity ?? "")}{string.Concat(Enum.GetValues<Severity>().Select(s => Option(s.ToLabel(), s.ToLabel(), severity)))}</select></label>
              <label>From <input type="date" name="from" value="{E(from)}"></label>
              <label>To <input type="date" name="to" value="{E(to)}"></label>
              <button type="submit">Filter</button>
            </form>
            """;
    }

    private static string IncidentTable(IReadOnlyList<Incident> incidents, DateTimeOffset now, bool includeDue)
    {
        var rows = new StringBuilder();
        foreach (var incident in incidents)
        {
            var age = (incident.ResolvedAt ?? now) - incident.DeclaredAt;
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr>
                  <td data-label="Incident">{IncidentLink(incident)}</td>
                  <td data-label="Title" class="title"><a href="/incidents/{incident.Number}">{E(incident.Title)}</a></td>
                  <td data-label="Severity">{SeverityBadge(incident.Severity)}</td>
                  <td data-label="Status">{StatusBadge(incident.Status)}</td>
                  <td data-label="{(includeDue ? "Age" : "Duration")}">{Span(age)}</td>
                  <td data-label="IC">{E(incident.RoleHolder(IncidentRole.Commander)?.DisplayName ?? "—")}</td>
                  <td data-label="{(includeDue ? "Next update due" : "Resolved")}">{Time(includeDue ? incident.NextUpdateDueAt : incident.ResolvedAt)}</td>
                </tr>
                """);
        }

        return $"""
            <div class="table-wrap"><table class="incidents">
            <thead><tr><th>Incident</th><th>Title</th><th>Severity</th><th>Status</th><th>{(includeDue ? "Age" : "Duration")}</th><th>IC</th><th>{(includeDue ? "Next update due" : "Resolved")}</th></tr></thead>
            <tbody>{rows}</tbody></table></div>
            """;
    }

    private static async Task<IResult> IncidentAsync(
        PostmortemService postmortems, IncidentLinks links, TimeProvider time, AccessPolicy access, HttpContext http, string number, CancellationToken ct)
    {
        if (!IncidentNumber.TryParse(number, out var parsed) || await postmortems.LoadAsync(parsed, access.SeesPrivate(http), ct) is not { } data)
        {
            return Results.Content(Page("Not found", $"<h1>Not found</h1><p>There is no incident {E(number)}.</p>"), "text/html; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
        }

        var incident = data.Incident;
        var metrics = ResponseMetrics.Of(incident);
        var now = time.GetUtcNow();
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"""
            <article class="incident">
            <header class="incident-head">
              <p class="crumbs"><a href="/">Incidents</a> / {incident.Number}</p>
              <h1><span class="number">{incident.Number}</span> {E(incident.Title)}</h1>
              <p class="badges">{SeverityBadge(incident.Severity)} {StatusBadge(incident.Status)}</p>
              {(string.IsNullOrWhiteSpace(incident.Description) ? "" : $"<p class=\"description\">{E(incident.Description)}</p>")}
            </header>
            <section class="facts">
              <dl>
                <div><dt>Declared</dt><dd>{Time(incident.DeclaredAt)} by {E(incident.DeclaredBy.DisplayName)}</dd></div>
                <div><dt>{(incident.IsResolved ? "Duration" : "Open for")}</dt><dd>{Span((incident.ResolvedAt ?? now) - incident.DeclaredAt)}</dd></div>
                <div><dt>Time to acknowledge</dt><dd>{Span(metrics.TimeToAcknowledge)}</dd></div>
                <div><dt>Time to mitigate</dt><dd>{Span(metrics.TimeToMitigate)}</dd></div>
                <div><dt>Time to resolve</dt><dd>{Span(metrics.TimeToResolve)}</dd></div>
                <div><dt>Next update due</dt><dd>{Time(incident.NextUpdateDueAt)}</dd></div>
              </dl>
              <dl class="roles">
                {string.Concat(IncidentRoleText.All.Select(r => $"<div><dt>{r.ToTitle()}</dt><dd>{E(incident.RoleHolder(r)?.DisplayName ?? "—")}</dd></div>"))}
              </dl>
            </section>
            """);

        body.Append("<section><h2>Timeline</h2><ol class=\"timeline\">");
        foreach (var entry in data.Timeline)
        {
            body.Append(CultureInfo.InvariantCulture, $"""
                <li class="entry kind-{entry.Kind.ToToken()}{(entry.Pinned ? " pinned" : "")}">
                  <div class="when">{Time(entry.OccurredAt)}</div>
                  <div class="what"><span class="kind">{entry.Kind.ToToken()}</span>{(entry.Pinned ? "<span class=\"pin\" title=\"pinned\">📌</span>" : "")}
                    <span class="author">{E(entry.Author?.DisplayName ?? "")}</span>
                    <p>{E(entry.Text)}</p></div>
                </li>
                """);
        }

        body.Append("</ol></section>");

        var updates = data.Timeline.Where(e => e.Kind == TimelineKind.Update).ToList();
        body.Append("<section><h2>Status updates</h2>");
        body.Append(updates.Count == 0
            ? "<p class=\"muted\">No status updates yet.</p>"
            : "<ul class=\"updates\">" + string.Concat(updates.Select(u => $"<li>{Time(u.OccurredAt)} <strong>{E(u.Author?.DisplayName)}</strong>: {E(u.Text)}</li>")) + "</ul>");
        body.Append("</section><section><h2>Action items</h2>");
        body.Append(data.ActionItems.Count == 0
            ? "<p class=\"muted\">No action items.</p>"
            : "<ul class=\"actions\">" + string.Concat(data.ActionItems.Select(a => $"<li>{E(a.Text)} — <em>{E(a.Owner?.DisplayName ?? "unassigned")}</em>{(a.DoneAt is null ? "" : " ✓")}</li>")) + "</ul>");
        body.Append("</section>");

        var markdown = PostmortemDraft.ToMarkdown(data, links.IncidentPage(incident.Number));
        body.Append(CultureInfo.InvariantCulture, $"""
            <section class="postmortem">
              <div class="section-head"><h2>Postmortem draft</h2>
              <a class="button" href="/incidents/{incident.Number}/postmortem.md" download>Download Markdown</a></div>
              <div class="markdown">{MarkdownHtml.Render(markdown)}</div>
            </section>
            </article>
            """);
        return Results.Content(Page($"{incident.Number} {incident.Title}", body.ToString(), "incidents"), "text/html; charset=utf-8");
    }

    private static async Task<IResult> DownloadPostmortemAsync(
        PostmortemService postmortems, IncidentLinks links, AccessPolicy access, HttpContext http, string number, CancellationToken ct)
    {
        if (!IncidentNumber.TryParse(number, out var parsed) ||
            await postmortems.GetMarkdownAsync(parsed, links.IncidentPage(parsed), access.SeesPrivate(http), ct) is not { } markdown)
        {
            return Results.NotFound();
        }

        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{parsed}-postmortem.md\"";
        return Results.Text(markdown, "text/markdown; charset=utf-8");
    }

    /// <summary>MTTA/MTTR count private incidents only for callers who see them: a week's spike would otherwise hint at one.</summary>
    private static async Task<IResult> MetricsAsync(IIncidentStore store, TimeProvider time, AccessPolicy access, HttpContext http, int? weeks, CancellationToken ct)
    {
        var span = Math.Clamp(weeks ?? 12, 4, 52);
        var now = time.GetUtcNow();
        var start = new DateTimeOffset(IncidentStatistics.WeekOf(now).AddDays(-7 * (span - 1)).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var incidents = await store.ListAsync(new IncidentQuery(Limit: 10_000) { DeclaredFrom = start, PublicOnly = !access.SeesPrivate(http) }, ct);
        var stats = IncidentStatistics.Weekly(incidents, start, now.AddTicks(1));
        var labels = stats.Select(w => IncidentStatistics.Label(w.WeekStart)).ToList();
        var severities = Enum.GetValues<Severity>();

        IReadOnlyList<SvgCharts.Series> Build(Func<WeekStats, Severity, double?> pick) =>
            severities.Select(s => new SvgCharts.Series(s, stats.Select(w => pick(w, s)).ToList())).ToList();

        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"<h1>Metrics</h1><p class=\"muted\">Last {span} weeks (weeks start Monday, UTC). <a href=\"/metrics?weeks=4\">4</a> · <a href=\"/metrics?weeks=12\">12</a> · <a href=\"/metrics?weeks=26\">26</a> · <a href=\"/metrics?weeks=52\">52</a> weeks</p>");
        body.Append("<div class=\"charts\">");
        body.Append(SvgCharts.StackedBars("Incidents per week by severity", labels, Build((w, s) => w.Declared[s]), "incidents"));
        body.Append(SvgCharts.Lines("Mean time to acknowledge", labels, Build((w, s) => w.MeanTimeToAcknowledge[s]?.TotalMinutes), "minutes"));
        body.Append(SvgCharts.Lines("Mean time to resolve", labels, Build((w, s) => w.MeanTimeToResolve[s]?.TotalHours), "hours"));
        body.Append("</div>");

        body.Append("<section><h2>Per severity</h2><div class=\"table-wrap\"><table class=\"numbers\"><thead><tr><th>Severity</th><th>Incidents</th><th>MTTA</th><th>MTTR</th></tr></thead><tbody>");
        foreach (var severity in severities)
        {
            var of = incidents.Where(i => i.Severity == severity).ToList();
            body.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{SeverityBadge(severity)}</td><td>{of.Count}</td><td>{Span(IncidentStatistics.Mean(of.Select(i => i.AcknowledgedAt - i.DeclaredAt)))}</td><td>{Span(IncidentStatistics.Mean(of.Select(i => i.ResolvedAt - i.DeclaredAt)))}</td></tr>");
        }

        body.Append("</tbody></table></div></section>");
        body.Append("<section><h2>Per week</h2><div class=\"table-wrap\"><table class=\"numbers\"><thead><tr><th>Week of</th>");
        body.Append(string.Concat(severities.Select(s => $"<th>{s.ToLabel()}</th>")));
        body.Append("<th>MTTA (all)</th><th>MTTR (all)</th></tr></thead><tbody>");
        foreach (var week in stats)
        {
            var inWeek = incidents.Where(i => IncidentStatistics.WeekOf(i.DeclaredAt) == week.WeekStart).ToList();
            body.Append(CultureInfo.InvariantCulture, $"<tr><td>{IncidentStatistics.Label(week.WeekStart)}</td>");
            body.Append(string.Concat(severities.Select(s => $"<td>{week.Declared[s]}</td>")));
            body.Append(CultureInfo.InvariantCulture,
                $"<td>{Span(IncidentStatistics.Mean(inWeek.Select(i => i.AcknowledgedAt - i.DeclaredAt)))}</td><td>{Span(IncidentStatistics.Mean(inWeek.Select(i => i.ResolvedAt - i.DeclaredAt)))}</td></tr>");
        }

        body.Append("</tbody></table></div></section>");
        return Results.Content(Page("Metrics", body.ToString(), "metrics"), "text/html; charset=utf-8");
    }

    private static IResult Asset(string name) => DashboardAssets.Find(name) is { } asset
        ? Results.Bytes(asset.Content, asset.ContentType)
        : Results.NotFound();

    private static DateTimeOffset? ParseDate(string? text, string name, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }

        errors.Add($"{name} must be a date like 2026-11-22.");
        return null;
    }
}

/// <summary>Dashboard pages: signed-in or token-bearing callers; anonymous browsers go to sign-in (or get 403 when only loopback is allowed).</summary>
internal sealed partial class DashboardAccessFilter(AccessPolicy access, ILogger<DashboardAccessFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        switch (access.Decide(http))
        {
            case AccessDecision.Allowed:
                return await next(context);
            case AccessDecision.Unauthenticated:
                return Results.Redirect($"/signin?returnUrl={Uri.EscapeDataString(SignIn.LocalOrHome(http.Request.Path + http.Request.QueryString))}");
            default:
                LogRefused(logger, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
                return Results.Content(
                    Page("Access", "<h1>Not available here</h1><p>No access tokens are configured, so the dashboard answers only on loopback. Configure <code>Api:Tokens</code> to sign in from elsewhere.</p>"),
                    "text/html; charset=utf-8",
                    statusCode: StatusCodes.Status403Forbidden);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused dashboard request to {Path} from {Remote}: loopback only until Api:Tokens is configured")]
    private static partial void LogRefused(ILogger logger, string path, string remote);
}
