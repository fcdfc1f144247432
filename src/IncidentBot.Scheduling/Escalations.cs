using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Scheduling;

/// <summary>Starts and stops escalation runs: one per incident, its next step kept as the incident's escalation timer.</summary>
public sealed partial class Escalations(IncidentTimers timers, EscalationPolicy policy, PageLedger ledger, IncidentService incidents, TimeProvider time, ILogger<Escalations> logger)
{
    /// <summary>
    /// Pages the chain from <paramref name="level"/> (after that level's delay, usually none). <paramref name="startedAt"/> identifies the run (it comes from
    /// the event that started it, so a redelivered event restarts nothing new); an ack or update after it stops the run.
    /// </summary>
    public async Task StartAsync(long incidentId, IncidentNumber number, int level, DateTimeOffset startedAt, string reason, bool explicitRequest, CancellationToken cancellationToken)
    {
        if (!policy.CanPage)
        {
            LogNoPager(logger, number, reason);
            if (explicitRequest)
            {
                await incidents.RecordPagingAsync(number, "Nobody was paged: no pager is configured (set Paging:PagerDuty:RoutingKey, Paging:Opsgenie:ApiKey or Paging:Webhook:Url)", cancellationToken);
            }

            return;
        }

        if (policy.Level(level) is not { } first)
        {
            await incidents.RecordPagingAsync(number, $"Nobody was paged: the escalation policy has {policy.Levels.Count} level(s), not {level}", cancellationToken);
            return;
        }

        await ScheduleStepAsync(incidentId, number, level, 0, startedAt, reason, time.GetUtcNow() + first.Delay, cancellationToken);
    }

    /// <summary>
    /// Sets the incident's escalation timer to page <paramref name="level"/> at <paramref name="at"/>. The step goes into
    /// the page ledger first (<see cref="PageLedger.Scheduled"/>), so a timer that is lost can be set again from it.
    /// </summary>
    public async Task ScheduleStepAsync(long incidentId, IncidentNumber number, int level, int loop, DateTimeOffset startedAt, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await ledger.ScheduleStepAsync(StepKey(incidentId, level, loop, startedAt), reason, at, cancellationToken);
        await ArmAsync(incidentId, number, level, loop, startedAt, reason, at, cancellationToken);
    }

    /// <summary>Sets the escalation timer for a step that is in the ledger already.</summary>
    public Task ArmAsync(long incidentId, IncidentNumber number, int level, int loop, DateTimeOffset startedAt, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        timers.ScheduleAsync(TimerKind.Escalation, incidentId, number, at, new Dictionary<string, string>
        {
            [TimerData.Level] = TimerData.Int(level),
            [TimerData.Loop] = TimerData.Int(loop),
            [TimerData.StartedAt] = TimerData.Time(startedAt),
            [TimerData.Reason] = reason,
        }, cancellationToken);

    /// <summary>The ledger key of an escalation step: the run (its start) and how far along it is.</summary>
    public static PageKey StepKey(long incidentId, int level, int loop, DateTimeOffset startedAt) =>
        new(incidentId, PageLedger.Escalate, level, loop, PagingService.Generation(startedAt), "*");

    public Task StopAsync(long incidentId, CancellationToken cancellationToken) => timers.CancelAsync(TimerKind.Escalation, incidentId, cancellationToken);

    /// <summary>
    /// Raising an open incident to a paging severity starts a run, unless one is running or the incident is acknowledged;
    /// lowering it below every paging severity stops the levels not yet paged (<c>Escalation:StopOnDowngrade</c>).
    /// </summary>
    public async Task SeverityChangedAsync(Incident incident, SeverityChanged change, CancellationToken cancellationToken)
    {
        var paging = policy.PageSeverities;
        if (incident.IsResolved || paging.Contains(change.To) == paging.Contains(change.From))
        {
            return;
        }

        var running = await timers.ExistsAsync(TimerKind.Escalation, incident.Id, cancellationToken);
        if (paging.Contains(change.To))
        {
            if (incident.AcknowledgedAt is not null || running || !policy.CanPage)
            {
                LogNotStarted(logger, incident.Number, change.To);
                return;
            }

            await incidents.RecordPagingAsync(incident.Number, $"Raised to {change.To.ToLabel()}: escalation started", cancellationToken);
            await StartAsync(incident.Id, incident.Number, 1, change.OccurredAt, $"raised to {change.To.ToLabel()}", explicitRequest: false, cancellationToken);
            return;
        }

        if (!policy.StopOnDowngrade)
        {
            return;
        }

        await StopAsync(incident.Id, cancellationToken);
        if (await ledger.StopScheduledStepsAsync(incident.Id, cancellationToken) > 0 || running)
        {
            await incidents.RecordPagingAsync(incident.Number, $"Lowered to {change.To.ToLabel()}: escalation levels not yet paged were stopped", cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Number} was raised to {Severity}; no escalation started (acknowledged, one running, or no pager)")]
    private static partial void LogNotStarted(ILogger logger, IncidentNumber number, Severity severity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Number} would escalate ({Reason}) but no pager is configured")]
    private static partial void LogNoPager(ILogger logger, IncidentNumber number, string reason);
}
