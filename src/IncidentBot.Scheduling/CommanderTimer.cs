using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Scheduling;

/// <summary>
/// The commander reminders come at fixed times after the declaration (every <see cref="ReminderOptions.CommanderMissingAfter"/>),
/// and the last of them (<see cref="ReminderOptions.EscalateAfterMissed"/>) starts the escalation; so which one is next
/// follows from the clock, and setting the timer is safe to repeat (a redelivered declare, the reconciler).
/// </summary>
public sealed class CommanderTimer(IncidentTimers timers, PageLedger ledger, IOptions<ReminderOptions> reminders, TimeProvider time)
{
    /// <summary>
    /// Sets the incident's commander-reminder timer for the next reminder unless it has one, nobody is missing, or the
    /// reminders are over; returns when it will fire, or null when nothing was set.
    /// </summary>
    public async Task<DateTimeOffset?> EnsureAsync(Incident incident, CancellationToken cancellationToken)
    {
        if (reminders.Value.CommanderMissingAfter is not { } after
            || incident.IsResolved
            || incident.RoleHolder(IncidentRole.Commander) is not null
            || await timers.ExistsAsync(TimerKind.Commander, incident.Id, cancellationToken))
        {
            return null;
        }

        var last = reminders.Value.EscalateAfterMissed;
        var missed = (int)Math.Min(last + 1, Math.Floor((time.GetUtcNow() - incident.DeclaredAt) / after) + 1);
        if (missed > last)
        {
            // Past the last reminder: it started the escalation, which is in the ledger, unless it never fired.
            if (await ledger.GetAsync(Escalations.StepKey(incident.Id, 1, 0, incident.DeclaredAt + (after * last)), cancellationToken) is not null)
            {
                return null;
            }

            missed = last;
        }

        var at = incident.DeclaredAt + (after * missed);
        await IncidentTimerJob.ScheduleCommanderAsync(timers, incident.Id, incident.Number, at, missed, cancellationToken);
        return at;
    }
}
