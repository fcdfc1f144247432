using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using IncidentBot.Paging;

namespace IncidentBot.Scheduling;

/// <summary>
/// Keeps each incident's timers in step with its state as events arrive from the outbox. Every action replaces a
/// timer under a stable key or goes through the page ledger, so a redelivered event changes nothing.
/// </summary>
public sealed class ReminderEventHandler(
    IncidentTimers timers,
    CommanderTimer commander,
    Escalations escalations,
    EscalationPolicy policy,
    PagingService paging,
    IncidentService incidents,
    TimeProvider time) : IIncidentEventHandler
{
    /// <summary>The events that start, move or stop a timer or a page (the cases below).</summary>
    private static readonly HashSet<Type> Handled =
    [
        typeof(IncidentDeclared), typeof(UpdatePosted), typeof(SeverityChanged), typeof(UpdateSnoozed), typeof(IncidentReopened),
        typeof(RoleAssigned), typeof(PageRequested), typeof(IncidentAcknowledged), typeof(UpdateReminderDue), typeof(IncidentResolved),
    ];

    /// <summary>The outbox lane name, stored with every delivery: never change it.</summary>
    public const string LaneName = "reminders";

    public string Name => LaneName;

    public bool Receives(Type eventType) => Handled.Contains(eventType);

    public string Destination => "the reminder and escalation timers";

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        switch (incidentEvent)
        {
            case IncidentDeclared declared:
                var incident = await incidents.GetAsync(declared.Number, cancellationToken);
                // Unless already set: a redelivered declare must not take the reminders back to the first.
                if (incident is { IsResolved: false, NextUpdateDueAt: not null })
                {
                    await ArmReminderAsync(timers, incident, 1, cancellationToken, replace: false);
                }

                await commander.EnsureAsync(incident, cancellationToken);

                if (policy.PageSeverities.Contains(declared.Severity))
                {
                    await escalations.StartAsync(incident.Id, incident.Number, 1, declared.OccurredAt, $"declared at {declared.Severity.ToLabel()}", explicitRequest: false, cancellationToken);
                }

                break;
            case SeverityChanged change:
                var changed = await incidents.GetAsync(change.Number, cancellationToken);
                await SyncReminderAsync(changed, cancellationToken);
                await escalations.SeverityChangedAsync(changed, change, cancellationToken);
                break;
            case UpdatePosted or UpdateSnoozed:
                await SyncReminderAsync(await incidents.GetAsync(incidentEvent.Number, cancellationToken), cancellationToken);
                break;
            case IncidentReopened:
                var reopened = await incidents.GetAsync(incidentEvent.Number, cancellationToken);
                await SyncReminderAsync(reopened, cancellationToken);
                if (!reopened.IsResolved && policy.PageSeverities.Contains(reopened.Severity))
                {
                    await escalations.StartAsync(reopened.Id, reopened.Number, 1, incidentEvent.OccurredAt, "reopened", explicitRequest: false, cancellationToken);
                }

                break;
            case RoleAssigned { Role: IncidentRole.Commander }:
                await timers.CancelAsync(TimerKind.Commander, incidentEvent.IncidentId, cancellationToken);
                break;
            case PageRequested { Target: { } person } page:
                await escalations.PagePersonAsync(
                    page.IncidentId, page.Number, person, page.OccurredAt, $"paged by {page.Actor?.DisplayName ?? "someone"} for {person.DisplayName}", cancellationToken);
                break;
            case PageRequested page:
                var reason = $"paged by {page.Actor?.DisplayName ?? "someone"}";
                await escalations.StartAsync(page.IncidentId, page.Number, page.Level ?? 1, page.OccurredAt, reason, explicitRequest: true, cancellationToken);
                break;
            case IncidentAcknowledged:
                await escalations.StopAsync(incidentEvent.IncidentId, cancellationToken);
                await paging.AcknowledgeAsync(await incidents.GetAsync(incidentEvent.Number, cancellationToken), incidentEvent.OccurredAt, cancellationToken);
                break;
            case UpdateReminderDue due:
                // Measured in this handler's own lane; the front-ends' lanes usually post it at about the same time.
                IncidentBotTelemetry.ReminderLateness.Record((time.GetUtcNow() - due.DueAt).TotalMilliseconds);
                break;
            case IncidentResolved:
                await timers.CancelAsync(TimerKind.Reminder, incidentEvent.IncidentId, cancellationToken);
                await timers.CancelAsync(TimerKind.Commander, incidentEvent.IncidentId, cancellationToken);
                await escalations.StopAsync(incidentEvent.IncidentId, cancellationToken);
                await paging.ResolveAsync(await incidents.GetAsync(incidentEvent.Number, cancellationToken), incidentEvent.OccurredAt, cancellationToken);
                break;
        }
    }

    private Task SyncReminderAsync(Incident incident, CancellationToken cancellationToken) =>
        incident.IsResolved || incident.NextUpdateDueAt is null
            ? timers.CancelAsync(TimerKind.Reminder, incident.Id, cancellationToken)
            : ArmReminderAsync(timers, incident, 1, cancellationToken);

    internal static Task<bool> ArmReminderAsync(IncidentTimers timers, Incident incident, int missed, CancellationToken cancellationToken, bool replace = true) =>
        timers.ScheduleAsync(TimerKind.Reminder, incident.Id, incident.Number, incident.NextUpdateDueAt!.Value, new Dictionary<string, string>
        {
            [TimerData.DueAt] = TimerData.Time(incident.NextUpdateDueAt!.Value),
            [TimerData.Missed] = TimerData.Int(missed),
        }, cancellationToken, replace);
}
