using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>What a pager (PagerDuty, Opsgenie) reported through its webhook about one of an incident's alerts.</summary>
/// <param name="Pager">The pager as people know it: PagerDuty, Opsgenie.</param>
/// <param name="AlertKey">The alert's dedup key (PagerDuty) or alias (Opsgenie).</param>
/// <param name="By">Who acted there, when the pager says.</param>
/// <param name="OccurredAt">When it happened there, by the pager's clock.</param>
public sealed record PagerReport(string Pager, string AlertKey, Person? By, DateTimeOffset OccurredAt);

public enum PagerReportOutcome
{
    /// <summary>The incident was acknowledged or resolved, or the report was recorded in its timeline.</summary>
    Applied,

    /// <summary>Nothing left to do: already acknowledged or resolved (often the echo of the bot's own ack or resolve).</summary>
    NothingToDo,

    /// <summary>No incident has that number.</summary>
    NoSuchIncident,
}

/// <summary>Acknowledgements and resolves made in a pager, where on-call people act from their phones.</summary>
public sealed partial class IncidentService
{
    /// <summary>
    /// Acknowledges the incident as a chat <c>ack</c> does (escalation stops, the pagers are told, MTTA counts it), at the
    /// time the pager reports, kept between the declaration and now so a skewed clock cannot move MTTA.
    /// </summary>
    public Task<PagerReportOutcome> AcknowledgeFromPagerAsync(IncidentNumber number, PagerReport report, CancellationToken cancellationToken) =>
        ApplyPagerReportAsync(number, (incident, now) =>
        {
            if (incident.IsResolved || incident.AcknowledgedAt is not null)
            {
                return null;
            }

            var at = Within(report.OccurredAt, incident.DeclaredAt, now);
            var changed = incident with { AcknowledgedAt = at };
            return new IncidentChange(
                changed,
                [new(at, TimelineKind.System, report.By, $"Acknowledged in {report.Pager}{ByWhom(report)}")],
                [PagerStamp(new IncidentAcknowledged { Pager = report.Pager }, changed, at, report.By)]);
        }, cancellationToken);

    /// <summary>
    /// Records that one of the incident's alerts was resolved in the pager. An alert resolving is not the incident
    /// being over, so the incident stays open unless <paramref name="resolveIncident"/> (then it resolves as a chat
    /// <c>resolve</c> does, and its other alerts are resolved too).
    /// </summary>
    public Task<PagerReportOutcome> ResolveFromPagerAsync(IncidentNumber number, PagerReport report, bool resolveIncident, CancellationToken cancellationToken) =>
        ApplyPagerReportAsync(number, (incident, now) =>
        {
            if (incident.IsResolved)
            {
                return null;
            }

            var at = Within(report.OccurredAt, incident.DeclaredAt, now);
            if (!resolveIncident)
            {
                var text = $"Alert {report.AlertKey} resolved in {report.Pager}{ByWhom(report)}; the incident stays open";
                return new IncidentChange(incident, [new(at, TimelineKind.Page, report.By, Truncate(text, MaxTextLength))], []) { AppendOnly = true };
            }

            var changed = incident with
            {
                Status = IncidentStatus.Resolved,
                ResolvedAt = at,
                MitigatedAt = incident.MitigatedAt ?? at,
                NextUpdateDueAt = null,
            };
            return new IncidentChange(
                changed,
                [new(at, TimelineKind.Status, report.By, $"Incident resolved in {report.Pager}{ByWhom(report)}")],
                [PagerStamp(new IncidentResolved(null) { Pager = report.Pager }, changed, at, report.By)]);
        }, cancellationToken);

    private async Task<PagerReportOutcome> ApplyPagerReportAsync(
        IncidentNumber number, Func<Incident, DateTimeOffset, IncidentChange?> decide, CancellationToken cancellationToken)
    {
        var found = false;
        var saved = await TryChangeAsync(number, (incident, now) =>
        {
            found = true;
            return decide(incident, now);
        }, cancellationToken);
        return saved is not null ? PagerReportOutcome.Applied
            : found ? PagerReportOutcome.NothingToDo
            : PagerReportOutcome.NoSuchIncident;
    }

    private static string ByWhom(PagerReport report) => report.By is { } by ? $" by {by.DisplayName}" : "";

    private static DateTimeOffset Within(DateTimeOffset value, DateTimeOffset earliest, DateTimeOffset latest) =>
        value < earliest ? earliest : value > latest ? latest : value;

    private static T PagerStamp<T>(T incidentEvent, Incident incident, DateTimeOffset at, Person? by)
        where T : IncidentEvent =>
        incidentEvent with { IncidentId = incident.Id, Number = incident.Number, OccurredAt = at, Actor = by, Origin = null };
}
