using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Scheduling;

/// <summary>Starts and stops escalation runs: one per incident, its next step kept as the incident's escalation timer.</summary>
public sealed partial class Escalations(
    IncidentTimers timers, EscalationPolicy policy, PageLedger ledger, PagingService paging, IncidentService incidents, TimeProvider time, ILogger<Escalations> logger)
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
        timers.ScheduleAsync(new EscalationPayload(incidentId, number, level, loop, startedAt, reason), at, cancellationToken);

    /// <summary>The ledger key of an escalation step: the run (its start) and how far along it is.</summary>
    public static PageKey StepKey(long incidentId, int level, int loop, DateTimeOffset startedAt) =>
        new(incidentId, PageLedger.Escalate, level, loop, PagingService.Generation(startedAt), "*");

    public Task StopAsync(long incidentId, CancellationToken cancellationToken) => timers.CancelAsync(TimerKind.Escalation, incidentId, cancellationToken);

    /// <summary>
    /// <c>page @person</c>: pages that person where a pager can (<see cref="EscalationPolicy.TargetsFor"/>), at once and
    /// once (a ledger step of level 0 with its own alert key, so a redelivered request sends nothing new), and says in
    /// the timeline where it could not.
    /// </summary>
    public async Task PagePersonAsync(long incidentId, IncidentNumber number, Person person, DateTimeOffset requestedAt, string reason, CancellationToken cancellationToken)
    {
        var (targets, cannot) = policy.TargetsFor(person);
        var marker = StepKey(incidentId, 0, 0, requestedAt);
        if (targets.Count == 0)
        {
            await ledger.ScheduleStepAsync(marker, reason, requestedAt, cancellationToken);
            if (await ledger.TryClaimAsync(marker, reason, null, paging.ClaimLease, cancellationToken) is { } none)
            {
                var why = cannot.Count > 0 ? string.Join("; ", cannot) : "no pager is configured";
                await incidents.RecordPagingAsync(number, $"Nobody was paged for {person.DisplayName}: {why}", cancellationToken);
                await ledger.CompleteAsync(marker, PageLedger.Stopped, "nobody to page", none, cancellationToken);
            }

            return;
        }

        var step = new EscalationStep(0, 0, targets, reason, requestedAt);
        var outcome = EscalationOutcome.Page;
        if (await ledger.TryClaimAsync(marker, reason, null, paging.ClaimLease, cancellationToken) is { } claim)
        {
            outcome = await incidents.EscalateAsync(number, step, cancellationToken);
            foreach (var line in cannot)
            {
                await incidents.RecordPagingAsync(number, line, cancellationToken);
            }

            await ledger.CompleteAsync(marker, outcome == EscalationOutcome.Stopped ? PageLedger.Stopped : PageLedger.Sent, null, claim, cancellationToken);
        }
        else if ((await ledger.GetAsync(marker, cancellationToken))?.Status == PageLedger.Stopped)
        {
            return;
        }

        if (outcome != EscalationOutcome.Stopped)
        {
            var sequence = await ledger.AssignKeyAsync(marker, cancellationToken);
            await paging.PageAsync(await incidents.GetAsync(number, cancellationToken), step, Pagers.DedupKey(number, sequence), cancellationToken);
            await incidents.EscalationStateChangedAsync(number, cancellationToken);
        }
    }

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
