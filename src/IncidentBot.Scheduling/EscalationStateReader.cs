using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;

namespace IncidentBot.Scheduling;

/// <summary>The escalation state the cards show, from the page ledger (pages, the step waiting for its timer) and the timeline (who acknowledged).</summary>
public sealed class EscalationStateReader(PageLedger ledger, IncidentTimers timers, EscalationPolicy policy, IIncidentStore store) : IEscalationStateReader
{
    public async Task<EscalationState> ReadAsync(Incident incident, CancellationToken cancellationToken)
    {
        var rows = await ledger.ListAsync(incident.Id, cancellationToken);
        var triggers = rows.Where(r => r.Action == "trigger").Reverse().ToList();
        var pages = triggers
            .Take(EscalationState.MaxPages)
            .Select(r => new PageSent(r.Target, r.Level, r.DedupKey ?? Pagers.DedupKey(incident.Number), r.Status, r.CompletedAt ?? r.CreatedAt))
            .ToList();

        NextLevel? next = null;
        if (!incident.IsResolved && incident.AcknowledgedAt is null
            && rows.Where(r => r.Action == PageLedger.Escalate && r.Status == PageLedger.Scheduled).MaxBy(r => r.DueAt) is { } step
            && policy.Level(step.Level) is { } level
            && await timers.ExistsAsync(TimerKind.Escalation, incident.Id, cancellationToken))
        {
            next = new NextLevel(level.Number, level.Targets, step.DueAt ?? step.CreatedAt);
        }

        string? acknowledged = null;
        if (incident.AcknowledgedAt is not null)
        {
            var timeline = await store.GetTimelineAsync(incident.Id, cancellationToken);
            acknowledged = timeline.LastOrDefault(e => e.Kind == TimelineKind.System
                && (e.Text.StartsWith("Acknowledged in ", StringComparison.Ordinal) || e.Text.EndsWith(" acknowledged the incident", StringComparison.Ordinal)))?.Text
                ?? "Acknowledged";
        }

        return new EscalationState(pages, triggers.Count, acknowledged, next);
    }
}
