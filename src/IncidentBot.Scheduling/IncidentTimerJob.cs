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
/// A firing that fails (the database away, say) is tried again here, with back-off, from the step it failed at: the
/// trigger stays with this firing meanwhile (and is recovered by another instance if this one dies), so a failure,
/// including one of the write that sets the next timer, never ends a timer. One that keeps failing for
/// <see cref="GiveUpAfter"/> tries is left to <see cref="TimerReconciler"/>.
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
    public const int GiveUpAfter = 30;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        BackgroundWork.Enter();
        var data = context.MergedJobDataMap;
        var kind = Enum.Parse<TimerKind>(data.GetString(TimerData.Kind)!);
        var incidentId = long.Parse(data.GetString(TimerData.IncidentId)!, System.Globalization.CultureInfo.InvariantCulture);
        var number = new IncidentNumber(TimerData.Int(data.GetString(TimerData.Number)!));
        var done = new Steps();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await FireAsync(kind, incidentId, number, data, done, cancellationToken);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && attempt < GiveUpAfter)
            {
                var delay = RetryDelay(attempt);
                LogFailed(logger, kind, number, attempt, delay, ex);
                await Task.Delay(delay, time, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                LogGaveUp(logger, kind, number, attempt, ex);
                return;
            }
        }
    }

    internal static TimeSpan RetryDelay(int attempt)
    {
        var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt - 1, 8)));
        return delay > MaxRetryDelay ? MaxRetryDelay : delay;
    }

    private Task FireAsync(TimerKind kind, long incidentId, IncidentNumber number, JobDataMap data, Steps done, CancellationToken cancellationToken) =>
        kind switch
        {
            TimerKind.Reminder => RemindUpdateAsync(incidentId, number, TimerData.Time(data.GetString(TimerData.DueAt)!), TimerData.Int(data.GetString(TimerData.Missed)!), done, cancellationToken),
            TimerKind.Commander => RemindCommanderAsync(incidentId, number, TimerData.Int(data.GetString(TimerData.Missed)!), done, cancellationToken),
            _ => EscalateAsync(
                incidentId,
                number,
                TimerData.Int(data.GetString(TimerData.Level)!),
                TimerData.Int(data.GetString(TimerData.Loop)!),
                TimerData.Time(data.GetString(TimerData.StartedAt)!),
                data.GetString(TimerData.Reason) ?? "escalation",
                done,
                cancellationToken),
        };

    private async Task RemindUpdateAsync(long incidentId, IncidentNumber number, DateTimeOffset dueAt, int missed, Steps done, CancellationToken cancellationToken)
    {
        var reminded = await done.OnceAsync("remind", () => incidents.RemindUpdateAsync(number, dueAt, missed, cancellationToken));
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

    private async Task RemindCommanderAsync(long incidentId, IncidentNumber number, int missed, Steps done, CancellationToken cancellationToken)
    {
        // Not idempotent by itself (nothing marks which reminder this was), so a retry must not post it again.
        var reminded = await done.OnceAsync("remind", () => incidents.RemindCommanderAsync(number, missed, cancellationToken));
        if (reminded is null || reminders.Value.CommanderMissingAfter is not { } after)
        {
            return;
        }

        if (missed < reminders.Value.EscalateAfterMissed)
        {
            await ScheduleCommanderAsync(timers, incidentId, number, reminded.DeclaredAt + (after * (missed + 1)), missed + 1, cancellationToken);
            return;
        }

        await escalations.StartAsync(incidentId, number, 1, reminded.DeclaredAt + (after * missed), "no incident commander assigned", explicitRequest: false, cancellationToken);
    }

    internal static Task ScheduleCommanderAsync(IncidentTimers timers, long incidentId, IncidentNumber number, DateTimeOffset at, int missed, CancellationToken cancellationToken) =>
        timers.ScheduleAsync(TimerKind.Commander, incidentId, number, at, new Dictionary<string, string>
        {
            [TimerData.Missed] = TimerData.Int(missed),
        }, cancellationToken);

    private async Task EscalateAsync(
        long incidentId, IncidentNumber number, int levelNumber, int loop, DateTimeOffset startedAt, string reason, Steps done, CancellationToken cancellationToken)
    {
        if (policy.Level(levelNumber) is not { } level)
        {
            return;
        }

        var step = new EscalationStep(level.Number, loop, level.Targets, reason, startedAt);
        var marker = Escalations.StepKey(incidentId, level.Number, loop, startedAt);
        var outcome = await done.OnceAsync("record", async () =>
        {
            if (await ledger.TryClaimAsync(marker, reason, null, paging.ClaimLease, cancellationToken) is { } claim)
            {
                var recorded = await incidents.EscalateAsync(number, step, cancellationToken);
                await ledger.CompleteAsync(marker, recorded == EscalationOutcome.Stopped ? PageLedger.Stopped : PageLedger.Sent, null, claim, cancellationToken);
                return recorded;
            }

            // This step was recorded by an earlier firing that did not finish (carry on from the incident's state), or
            // stopped when the severity was lowered.
            return (await ledger.GetAsync(marker, cancellationToken))?.Status == PageLedger.Stopped
                ? EscalationOutcome.Stopped
                : IncidentService.Decide(await incidents.GetAsync(number, cancellationToken), step);
        });

        if (outcome == EscalationOutcome.Stopped)
        {
            LogStopped(logger, number, level.Number);
            return;
        }

        // Each step opens its own alert: a trigger under the key of an alert still open notifies nobody.
        var sequence = await done.OnceAsync("key", () => ledger.AssignKeyAsync(marker, cancellationToken));
        await paging.PageAsync(await incidents.GetAsync(number, cancellationToken), step, Pagers.DedupKey(number, sequence), cancellationToken);
        if (outcome == EscalationOutcome.Page && policy.Next(level.Number, loop) is { } next)
        {
            var at = await done.OnceAsync("next-at", () => Task.FromResult(time.GetUtcNow() + next.After));
            await escalations.ScheduleStepAsync(incidentId, number, next.Level, next.Loop, startedAt, reason, at, cancellationToken);
        }

        await done.OnceAsync("cards", () => incidents.EscalationStateChangedAsync(number, cancellationToken));
    }

    /// <summary>The steps of one firing already done, so a retry after a failure carries on instead of repeating them.</summary>
    private sealed class Steps
    {
        private readonly Dictionary<string, object?> _results = new(StringComparer.Ordinal);

        public async Task<T> OnceAsync<T>(string step, Func<Task<T>> run)
        {
            if (!_results.TryGetValue(step, out var result))
            {
                result = await run();
                _results[step] = result;
            }

            return (T)result!;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reminded {Number} of an overdue update (missed {Missed})")]
    private static partial void LogReminded(ILogger logger, IncidentNumber number, int missed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Escalation of {Number} stopped before level {Level}")]
    private static partial void LogStopped(ILogger logger, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} timer of {Number} failed (attempt {Attempt}); trying again in {Delay}")]
    private static partial void LogFailed(ILogger logger, TimerKind kind, IncidentNumber number, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind} timer of {Number} failed {Attempt} times; giving up, the timer reconciler sets it again from the incident's state")]
    private static partial void LogGaveUp(ILogger logger, TimerKind kind, IncidentNumber number, int attempt, Exception exception);
}
