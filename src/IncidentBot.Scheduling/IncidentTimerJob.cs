using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Quartz;

namespace IncidentBot.Scheduling;

/// <summary>
/// Fires an incident timer (update reminder, commander reminder, escalation step). Idempotent: it re-reads the
/// incident and acts only when the timer is still current, so a late, repeated or superseded firing does nothing.
/// </summary>
public sealed partial class IncidentTimerJob(
    IncidentService incidents,
    IncidentTimers timers,
    Escalations escalations,
    EscalationPolicy policy,
    PagingService paging,
    PageLedger ledger,
    IOptions<ReminderOptions> reminders,
    TimeProvider time,
    ILogger<IncidentTimerJob> logger) : IJob
{
    private const string Failures = "failures";
    private const int MaxFailures = 60;
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(5);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        var kind = Enum.Parse<TimerKind>(data.GetString(TimerData.Kind)!);
        var incidentId = long.Parse(data.GetString(TimerData.IncidentId)!, System.Globalization.CultureInfo.InvariantCulture);
        var number = new IncidentNumber(TimerData.Int(data.GetString(TimerData.Number)!));
        try
        {
            switch (kind)
            {
                case TimerKind.Reminder:
                    await RemindUpdateAsync(incidentId, number, TimerData.Time(data.GetString(TimerData.DueAt)!), TimerData.Int(data.GetString(TimerData.Missed)!), cancellationToken);
                    break;
                case TimerKind.Commander:
                    await RemindCommanderAsync(incidentId, number, TimerData.Int(data.GetString(TimerData.Missed)!), cancellationToken);
                    break;
                case TimerKind.Escalation:
                    await EscalateAsync(
                        incidentId,
                        number,
                        TimerData.Int(data.GetString(TimerData.Level)!),
                        TimerData.Int(data.GetString(TimerData.Loop)!),
                        TimerData.Time(data.GetString(TimerData.StartedAt)!),
                        data.GetString(TimerData.Reason) ?? "escalation",
                        cancellationToken);
                    break;
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The store was briefly unavailable, say: fire the same timer again shortly rather than lose it.
            var failures = data.ContainsKey(Failures) ? TimerData.Int(data.GetString(Failures)!) + 1 : 1;
            LogFailed(logger, kind, number, failures, ex);
            if (failures >= MaxFailures)
            {
                return;
            }

            var retry = data.Keys.ToDictionary(k => k, k => data.GetString(k) ?? "");
            retry[Failures] = TimerData.Int(failures);
            await timers.ScheduleAsync(kind, incidentId, number, time.GetUtcNow() + RetryAfterFailure, retry, CancellationToken.None);
        }
    }

    private async Task RemindUpdateAsync(long incidentId, IncidentNumber number, DateTimeOffset dueAt, int missed, CancellationToken cancellationToken)
    {
        var reminded = await incidents.RemindUpdateAsync(number, dueAt, missed, cancellationToken);
        if (reminded is null)
        {
            // Superseded: an update, snooze or severity change moved the due time. Make sure the current one is armed
            // (an older timer written after the newer one would otherwise leave it unarmed).
            var current = await incidents.GetAsync(number, cancellationToken);
            if (!current.IsResolved && current.NextUpdateDueAt is { } due && due > dueAt)
            {
                await ReminderEventHandler.ArmReminderAsync(timers, current, 1, cancellationToken);
            }

            return;
        }

        LogReminded(logger, number, missed);
        if (reminded.NextUpdateDueAt is not null)
        {
            await ReminderEventHandler.ArmReminderAsync(timers, reminded, missed + 1, cancellationToken);
        }

        if (missed == reminders.Value.EscalateAfterMissed)
        {
            await escalations.StartAsync(incidentId, number, 1, dueAt, $"no status update after {missed} reminders", explicitRequest: false, cancellationToken);
        }
    }

    private async Task RemindCommanderAsync(long incidentId, IncidentNumber number, int missed, CancellationToken cancellationToken)
    {
        var reminded = await incidents.RemindCommanderAsync(number, missed, cancellationToken);
        if (reminded is null || reminders.Value.CommanderMissingAfter is not { } after)
        {
            return;
        }

        if (missed < reminders.Value.EscalateAfterMissed)
        {
            await timers.ScheduleAsync(TimerKind.Commander, incidentId, number, reminded.DeclaredAt + (after * (missed + 1)), new Dictionary<string, string>
            {
                [TimerData.Missed] = TimerData.Int(missed + 1),
            }, cancellationToken);
            return;
        }

        await escalations.StartAsync(incidentId, number, 1, reminded.DeclaredAt + (after * missed), "no incident commander assigned", explicitRequest: false, cancellationToken);
    }

    private async Task EscalateAsync(long incidentId, IncidentNumber number, int levelNumber, int loop, DateTimeOffset startedAt, string reason, CancellationToken cancellationToken)
    {
        if (policy.Level(levelNumber) is not { } level)
        {
            return;
        }

        var step = new EscalationStep(level.Number, loop, level.Targets, reason, startedAt);
        var marker = new PageKey(incidentId, "escalate", level.Number, loop, PagingService.Generation(startedAt), "*");
        EscalationOutcome outcome;
        if (await ledger.TryClaimAsync(marker, PagingService.ClaimLease, cancellationToken))
        {
            outcome = await incidents.EscalateAsync(number, step, cancellationToken);
            await ledger.CompleteAsync(marker, outcome == EscalationOutcome.Stopped ? "stopped" : PageLedger.Sent, null, cancellationToken);
        }
        else
        {
            // This step was recorded by an earlier firing that did not finish; carry on from the incident's state.
            outcome = IncidentService.Decide(await incidents.GetAsync(number, cancellationToken), step);
        }

        if (outcome == EscalationOutcome.Stopped)
        {
            LogStopped(logger, number, level.Number);
            return;
        }

        await paging.PageAsync(await incidents.GetAsync(number, cancellationToken), step, cancellationToken);
        if (outcome == EscalationOutcome.Page && policy.Next(level.Number, loop) is { } next)
        {
            await escalations.ScheduleStepAsync(incidentId, number, next.Level, next.Loop, startedAt, reason, time.GetUtcNow() + next.After, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reminded {Number} of an overdue update (missed {Missed})")]
    private static partial void LogReminded(ILogger logger, IncidentNumber number, int missed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Escalation of {Number} stopped before level {Level}")]
    private static partial void LogStopped(ILogger logger, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind} timer of {Number} failed ({Failures} in a row; retried every 5 s up to 60 times)")]
    private static partial void LogFailed(ILogger logger, TimerKind kind, IncidentNumber number, int failures, Exception exception);
}
