using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Postmortems;

/// <summary>How fast the response went, measured from the declaration; null where the milestone was not reached.</summary>
public sealed record ResponseMetrics(TimeSpan? TimeToAcknowledge, TimeSpan? TimeToMitigate, TimeSpan? TimeToResolve)
{
    public static ResponseMetrics Of(Incident incident) => new(
        incident.AcknowledgedAt - incident.DeclaredAt,
        incident.MitigatedAt - incident.DeclaredAt,
        incident.ResolvedAt - incident.DeclaredAt);
}

/// <summary>The severities an incident went through, oldest first, rebuilt from its timeline.</summary>
public static class SeverityHistory
{
    public sealed record Step(Severity Severity, DateTimeOffset From);

    public static IReadOnlyList<Step> Of(Incident incident, IEnumerable<TimelineEntry> timeline)
    {
        var changes = timeline
            .Where(e => e.Kind == TimelineKind.Severity)
            .Select(e => TimelineText.TryParseSeverityChange(e.Text, out var from, out var to) ? (e.OccurredAt, From: from, To: to) : default)
            .Where(c => c != default)
            .OrderBy(c => c.OccurredAt)
            .ToList();
        var steps = new List<Step> { new(changes.Count > 0 ? changes[0].From : incident.Severity, incident.DeclaredAt) };
        steps.AddRange(changes.Select(c => new Step(c.To, c.OccurredAt)));
        return steps;
    }
}
