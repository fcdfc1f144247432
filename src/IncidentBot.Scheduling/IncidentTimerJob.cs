using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Hosting;
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
/// <see cref="GiveUpAfter"/> tries is left to <see cref="TimerReconciler"/>. So is one cut short by a shutdown: Quartz
/// would wait out the host's whole shutdown timeout for it without telling it (a pager that does not answer held
/// every stop for 30 s); stopped at once, it is set again from the incident's state, as after a crash, and a page it
/// had in flight is sent again by <see cref="PageSweeper"/> under the same key.
/// </summary>
public sealed partial class IncidentTimerJob(
    IncidentService incidents,
    IncidentTimers timers,
    Escalations escalations,
    EscalationPolicy policy,
    PagingService paging,
    PageLedger ledger,
    IOptions<ReminderOptions> reminders,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<IncidentTimerJob> logger) : IJob
{
    public const int GiveUpAfter = 30;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        BackgroundWork.Enter();
        if (!TimerPayload.TryRead(context.MergedJobDataMap, out var payload, out var problem))
        {
            // Retrying cannot mend it; the reconciler sets the incident's timers again from its state.
            LogUnreadable(logger, context.JobDetail.Key.Name, problem);
            return;
        }

        var (kind, number) = (payload.Kind, payload.Number);
        var done = new Steps();
        var stopping = lifetime.ApplicationStopping;
        using var firing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await FireAsync(payload, done, firing.Token);
                    return;
                }
                catch (Exception ex) when (!firing.IsCancellationRequested && attempt < GiveUpAfter)
                {
                    LogFailed(logger, kind, number, attempt, RetryDelay(attempt), ex);
                }
                catch (Exception ex) when (!firing.IsCancellationRequested)
                {
                    LogGaveUp(logger, kind, number, attempt, ex);
                    return;
                }

                await Task.Delay(RetryDelay(attempt), time, firing.Token);
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogCutShort(logger, kind, number);
        }
    }

    internal static TimeSpan RetryDelay(int attempt)
    {
        var delay = TimeSpan.FromSeconds(Math.Pow(2, Math.Min(attempt - 1, 8)));
        return delay > MaxRetryDelay ? MaxRetryDelay : delay;
    }

    private Task FireAsync(TimerPayload payload, Steps done, CancellationToken cancellationToken) =>
        payload switch
        {
            UpdateReminderPayload r => RemindUpdateAsync(r.IncidentId, r.Number, r.DueAt, r.Missed, done, cancellationToken),
            CommanderReminderPayload c => RemindCommanderAsync(c.IncidentId, c.Number, c.Missed, done, cancellationToken),
            EscalationPayload e => EscalateAsync(e.IncidentId, e.Number, e.Level, e.Loop, e.StartedAt, e.Reason, done, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(payload), payload.Kind, "unknown timer"),
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
        timers.ScheduleAsync(new CommanderReminderPayload(incidentId, number, missed), at, cancellationToken);

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

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer {Timer} cannot be read ({Problem}); dropped, the timer reconciler sets it again from the incident's state")]
    private static partial void LogUnreadable(ILogger logger, string timer, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reminded {Number} of an overdue update (missed {Missed})")]
    private static partial void LogReminded(ILogger logger, IncidentNumber number, int missed);

    [LoggerMessage(Level = LogLevel.Information, Message = "Escalation of {Number} stopped before level {Level}")]
    private static partial void LogStopped(ILogger logger, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} timer of {Number} failed (attempt {Attempt}); trying again in {Delay}")]
    private static partial void LogFailed(ILogger logger, TimerKind kind, IncidentNumber number, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Kind} timer of {Number} stopped by the shutdown; the timer reconciler sets it again from the incident's state, the page sweeper sends a page it had in flight")]
    private static partial void LogCutShort(ILogger logger, TimerKind kind, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Kind} timer of {Number} failed {Attempt} times; giving up, the timer reconciler sets it again from the incident's state")]
    private static partial void LogGaveUp(ILogger logger, TimerKind kind, IncidentNumber number, int attempt, Exception exception);
}
