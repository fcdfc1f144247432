using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Scheduling;

/// <summary>
/// Sets every open incident's timers again where one is missing, from the incident's state and the page ledger: at
/// start and every <see cref="SchedulerOptions.ReconcileInterval"/>. A timer can go missing however rarely (a database
/// restored from a backup, a firing that gave up, a shutdown in the middle of one); this makes sure no open incident
/// is left without its reminders or its escalation. Idempotent: a timer that exists is left as it is, and every firing
/// re-reads the incident, so one set twice reminds or pages once.
/// </summary>
public sealed partial class TimerReconciler(
    IIncidentStore store,
    IncidentTimers timers,
    CommanderTimer commander,
    Escalations escalations,
    EscalationPolicy policy,
    PageLedger ledger,
    IOptions<SchedulerOptions> scheduler,
    TimeProvider time,
    ILogger<TimerReconciler> logger) : BackgroundService
{
    private const int MaxOpenIncidents = 10_000;

    /// <summary>Sets the missing timers of every open incident; returns how many were set.</summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var open = await store.ListAsync(new IncidentQuery(OpenOnly: true, Limit: MaxOpenIncidents), cancellationToken);
        var steps = (await ledger.LatestStepsOfOpenIncidentsAsync(cancellationToken)).ToDictionary(s => s.IncidentId);
        var armed = 0;
        foreach (var incident in open)
        {
            try
            {
                armed += await ReminderAsync(incident, cancellationToken)
                    + await CommanderAsync(incident, cancellationToken)
                    + await EscalationAsync(incident, steps.GetValueOrDefault(incident.Id), cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogFailed(logger, incident.Number, ex);
            }
        }

        return armed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        BackgroundWork.Enter();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await ReconcileAsync(stoppingToken) is var armed and > 0)
                {
                    LogArmed(logger, armed);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(logger, ex);
            }

            await Task.Delay(scheduler.Value.ReconcileInterval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task<int> ReminderAsync(Incident incident, CancellationToken cancellationToken)
    {
        if (incident.NextUpdateDueAt is null || await timers.ExistsAsync(TimerKind.Reminder, incident.Id, cancellationToken))
        {
            return 0;
        }

        // How many reminders were already missed is not kept, so the count starts again: escalation on missed updates
        // may come up to Reminders:EscalateAfterMissed - 1 reminders later than it would have.
        // Not replacing: the reminder may have fired and set its successor since the check.
        if (!await ReminderEventHandler.ArmReminderAsync(timers, incident, 1, cancellationToken, replace: false))
        {
            return 0;
        }

        LogRearmed(logger, TimerKind.Reminder, incident.Number, incident.NextUpdateDueAt.Value);
        return 1;
    }

    private async Task<int> CommanderAsync(Incident incident, CancellationToken cancellationToken)
    {
        if (await commander.EnsureAsync(incident, cancellationToken) is not { } at)
        {
            return 0;
        }

        LogRearmed(logger, TimerKind.Commander, incident.Number, at);
        return 1;
    }

    private async Task<int> EscalationAsync(Incident incident, PageLedgerRow? latest, CancellationToken cancellationToken)
    {
        if (latest is null || policy.Level(latest.Level) is not { } level
            || await timers.ExistsAsync(TimerKind.Escalation, incident.Id, cancellationToken))
        {
            return 0;
        }

        var key = latest.Key;
        var reason = latest.Reason ?? "escalation";
        var step = new EscalationStep(level.Number, key.Loop, level.Targets, reason, key.GenerationTime);
        if (IncidentService.Decide(incident, step) == EscalationOutcome.Stopped)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        switch (latest.Status)
        {
            case PageLedger.Scheduled:
                await escalations.ArmAsync(incident.Id, incident.Number, level.Number, key.Loop, key.GenerationTime, reason, latest.DueAt ?? now, cancellationToken);
                break;
            case PageLedger.Sending:
                // A firing stopped half-way: fire the same step again, which carries on from the incident's state.
                await escalations.ArmAsync(incident.Id, incident.Number, level.Number, key.Loop, key.GenerationTime, reason, now, cancellationToken);
                break;
            case PageLedger.Sent when !await AllPagedAsync(incident, latest, level, cancellationToken):
                await escalations.ArmAsync(incident.Id, incident.Number, level.Number, key.Loop, key.GenerationTime, reason, now, cancellationToken);
                break;
            case PageLedger.Sent when incident.AcknowledgedAt is null && policy.Next(level.Number, key.Loop) is { } next:
                await escalations.ScheduleStepAsync(
                    incident.Id, incident.Number, next.Level, next.Loop, key.GenerationTime, reason, (latest.CompletedAt ?? now) + next.After, cancellationToken);
                break;
            default:
                return 0;
        }

        LogRearmed(logger, TimerKind.Escalation, incident.Number, now);
        return 1;
    }

    /// <summary>Whether every target of the step has a page in the ledger (sent, being sent, or ended).</summary>
    private async Task<bool> AllPagedAsync(Incident incident, PageLedgerRow step, EscalationLevel level, CancellationToken cancellationToken)
    {
        var pages = await ledger.ListAsync(incident.Id, cancellationToken);
        return level.Targets.All(target => pages.Any(p =>
            p.Action == "trigger" && p.Target == target && p.Level == step.Level && p.Loop == step.Loop && p.Generation == step.Generation));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} timer of {Number} was missing; set again for {At:O}")]
    private static partial void LogRearmed(ILogger logger, TimerKind kind, IncidentNumber number, DateTimeOffset at);

    [LoggerMessage(Level = LogLevel.Information, Message = "Timer reconciler set {Count} missing timers")]
    private static partial void LogArmed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer reconciler could not check {Number}; trying again next pass")]
    private static partial void LogFailed(ILogger logger, IncidentNumber number, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer reconciler pass failed; trying again next pass")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
