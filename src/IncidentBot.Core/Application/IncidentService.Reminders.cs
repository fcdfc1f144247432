using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>One step of an escalation run: which level to page (0: one person, <c>page @person</c>), in which loop, for what.</summary>
/// <param name="StartedAt">When the run began (the declare, missed reminder or page request); an ack or update after it stops the run.</param>
public sealed record EscalationStep(int Level, int Loop, IReadOnlyList<string> Targets, string Reason, DateTimeOffset StartedAt);

public enum EscalationOutcome
{
    /// <summary>The incident was resolved, acknowledged or updated since the run began: page nobody.</summary>
    Stopped,

    /// <summary>Page this level; later levels follow unless something stops the run.</summary>
    Page,

    /// <summary>Page this level, but it was acknowledged before the run began, so nobody can stop later levels: stop after this one.</summary>
    PageOnce,
}

/// <summary>Operations the scheduler calls when a reminder or escalation timer fires. Each re-reads the incident first.</summary>
public sealed partial class IncidentService
{
    /// <summary>
    /// Reminds the war room that a status update is overdue, when <paramref name="dueAt"/> is still the incident's
    /// next-update-due time. Moves the due time one cadence on. Returns null when nothing is due any more (an
    /// update, snooze, severity change or resolve happened meanwhile, or the timer fired twice).
    /// </summary>
    public Task<Incident?> RemindUpdateAsync(IncidentNumber number, DateTimeOffset dueAt, int missed, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) =>
        {
            if (incident.IsResolved || incident.NextUpdateDueAt is not { } due || due != dueAt)
            {
                return null;
            }

            var interval = Cadence.For(incident.Severity) ?? TimeSpan.Zero;
            var next = interval > TimeSpan.Zero ? Max(due, now) + interval : (DateTimeOffset?)null;
            var commander = incident.RoleHolder(IncidentRole.Commander);
            var comms = incident.RoleHolder(IncidentRole.Comms);
            var whom = string.Join(" and ", new[] { commander?.DisplayName, comms?.DisplayName }.Where(n => n is not null).Distinct());
            var text = missed <= 1
                ? $"Status update overdue (due {due:HH:mm:ss} UTC); reminded {(whom.Length == 0 ? "the war room" : whom)}"
                : $"Status update still overdue ({missed} reminders missed); reminded {(whom.Length == 0 ? "the war room" : whom)}";
            var changed = incident with { NextUpdateDueAt = next };
            return new IncidentChange(
                changed,
                [new(now, TimelineKind.System, null, text)],
                [SystemStamp(new UpdateReminderDue(due, missed, commander, comms), changed, now)]);
        }, cancellationToken);

    /// <summary>Reminds the war room that nobody is incident commander; null when one is, or the incident is resolved.</summary>
    public Task<Incident?> RemindCommanderAsync(IncidentNumber number, int missed, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) =>
        {
            if (incident.IsResolved || incident.RoleHolder(IncidentRole.Commander) is not null)
            {
                return null;
            }

            var text = $"No incident commander {Durations.Describe(now - incident.DeclaredAt)} after declaration"
                + (missed <= 1 ? "; reminded the war room" : $" ({missed} reminders missed)");
            return new IncidentChange(
                incident,
                [new(now, TimelineKind.System, null, text)],
                [SystemStamp(new CommanderMissing(incident.DeclaredAt), incident, now)]);
        }, cancellationToken);

    /// <summary>Decides whether an escalation step still pages, and if so records it in the timeline and tells the war rooms.</summary>
    public async Task<EscalationOutcome> EscalateAsync(IncidentNumber number, EscalationStep step, CancellationToken cancellationToken)
    {
        var outcome = EscalationOutcome.Stopped;
        await TryChangeAsync(number, (incident, now) =>
        {
            outcome = Decide(incident, step);
            if (outcome == EscalationOutcome.Stopped)
            {
                return null;
            }

            var loop = step.Loop > 0 ? $", repeat {step.Loop}" : "";
            var text = step.Level == 0
                ? $"Paged {string.Join(", ", step.Targets)}: {step.Reason}"
                : $"Paged escalation level {step.Level}{loop} ({string.Join(", ", step.Targets)}): {step.Reason}";
            return new IncidentChange(
                incident,
                [new(now, TimelineKind.Page, null, text)],
                [SystemStamp(new IncidentEscalated(step.Level, step.Targets, step.Reason), incident, now)]);
        }, cancellationToken);
        return outcome;
    }

    /// <summary>Whether an escalation step pages, by the incident's current state.</summary>
    public static EscalationOutcome Decide(Incident incident, EscalationStep step) =>
        incident switch
        {
            { IsResolved: true } => EscalationOutcome.Stopped,
            { AcknowledgedAt: { } acked } when acked >= step.StartedAt => EscalationOutcome.Stopped,
            { LastUpdateAt: { } updated } when updated > step.StartedAt => EscalationOutcome.Stopped,
            { AcknowledgedAt: not null } => EscalationOutcome.PageOnce,
            _ => EscalationOutcome.Page,
        };

    /// <summary>Tells the front-ends that the escalation state on the cards changed (pages sent, the next level set).</summary>
    public Task<Incident?> EscalationStateChangedAsync(IncidentNumber number, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) => new IncidentChange(
            incident,
            [],
            [SystemStamp(new EscalationStateChanged(), incident, now)]) { AppendOnly = true }, cancellationToken);

    /// <summary>Records what happened to a page (sent, failed, nobody configured) in the timeline, without an event.</summary>
    public Task<Incident?> RecordPagingAsync(IncidentNumber number, string text, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) => new IncidentChange(
            incident,
            [new(now, TimelineKind.Page, null, Truncate(text, MaxTextLength))],
            []) { AppendOnly = true }, cancellationToken);

    /// <summary>Records that something could not be delivered (a post, a card, a timer) and was given up, without an event.</summary>
    public Task<Incident?> RecordDeliveryFailureAsync(IncidentNumber number, string text, CancellationToken cancellationToken) =>
        TryChangeAsync(number, (incident, now) => new IncidentChange(
            incident,
            [new(now, TimelineKind.System, null, Truncate(text, MaxTextLength))],
            []) { AppendOnly = true }, cancellationToken);

    private async Task<Incident?> TryChangeAsync(IncidentNumber number, Func<Incident, DateTimeOffset, IncidentChange?> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var incident = await store.GetAsync(number, cancellationToken);
            if (incident is null || decide(incident, time.GetUtcNow()) is not { } change)
            {
                return null;
            }

            try
            {
                var queued = change with { Events = Queued(change.Events) };
                var saved = await store.SaveAsync(queued, cancellationToken);
                if (queued.Events.Count > 0)
                {
                    outboxSignal.Notify();
                }

                return saved;
            }
            catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
            {
                await BackOffAsync(number, attempt, cancellationToken);
            }
        }
    }

    private static T SystemStamp<T>(T incidentEvent, Incident incident, DateTimeOffset now)
        where T : IncidentEvent =>
        incidentEvent with { IncidentId = incident.Id, Number = incident.Number, OccurredAt = now, Actor = null, Origin = null };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
