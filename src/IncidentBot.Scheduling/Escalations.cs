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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Number} would escalate ({Reason}) but no pager is configured")]
    private static partial void LogNoPager(ILogger logger, IncidentNumber number, string reason);
}
