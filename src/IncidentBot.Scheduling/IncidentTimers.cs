using IncidentBot.Core.Incidents;
using Quartz;

namespace IncidentBot.Scheduling;

public enum TimerKind
{
    Reminder,
    Commander,
    Escalation,
}

/// <summary>
/// The per-incident Quartz timers. Each incident has at most one timer of each kind under a stable key, so
/// scheduling again replaces it; the data travels with the trigger in the database, so any instance can fire it.
/// </summary>
public sealed class IncidentTimers(ISchedulerFactory schedulers, TimeProvider time)
{
    public const string Group = "incident-timers";

    public static JobKey Key(TimerKind kind, long incidentId) => new($"{kind.ToString().ToLowerInvariant()}-{incidentId}", Group);

    /// <summary>
    /// Sets the timer, replacing one already set unless <paramref name="replace"/> is false; returns false when it was
    /// left as it was. Without replacing, the check and the set are one step, so a timer its own firing re-arms
    /// meanwhile (the next reminder, with its count of missed updates) is never taken back.
    /// </summary>
    public async Task<bool> ScheduleAsync(TimerPayload payload, DateTimeOffset at, CancellationToken cancellationToken, bool replace = true)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var key = Key(payload.Kind, payload.IncidentId);
        var map = payload.ToJobData();

        var job = JobBuilder.Create<IncidentTimerJob>()
            .WithIdentity(key)
            .UsingJobData(map)
            .RequestRecovery()
            .Build();
        // Never in the past: a timer due while nobody ran fires once, at once (FireNow on misfire).
        var fireAt = at < time.GetUtcNow() ? time.GetUtcNow() : at;
        var trigger = TriggerBuilder.Create()
            .WithIdentity(key.Name, key.Group)
            .ForJob(key)
            .StartAt(fireAt)
            .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow))
            .Build();
        try
        {
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = replace }, cancellationToken);
            return true;
        }
        catch (ObjectAlreadyExistsException) when (!replace)
        {
            return false;
        }
    }

    public async Task CancelAsync(TimerKind kind, long incidentId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        await scheduler.DeleteJob(Key(kind, incidentId), cancellationToken);
    }

    /// <summary>
    /// Whether the incident has a live timer of this kind: scheduled, or firing right now (its job stays while a firing
    /// runs, whatever its one-shot trigger's state; it goes when the timer ends). A trigger in error does not count.
    /// </summary>
    public async Task<bool> ExistsAsync(TimerKind kind, long incidentId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var key = Key(kind, incidentId);
        return await scheduler.Exists(key, cancellationToken)
            && await scheduler.GetTriggerState(new TriggerKey(key.Name, Group), cancellationToken) != TriggerState.Error;
    }

    public async Task<DateTimeOffset?> NextFireAsync(TimerKind kind, long incidentId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var trigger = await scheduler.GetTrigger(new TriggerKey(Key(kind, incidentId).Name, Group), cancellationToken);
        return trigger?.NextFireTimeUtc;
    }
}
