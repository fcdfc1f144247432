using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Application;

/// <summary>
/// The one place incident rules are applied. Every front-end (chat, API, scheduler) changes incidents
/// through this service; broken rules surface as <see cref="IncidentRuleException"/> with a message for
/// the user.
/// </summary>
public sealed partial class IncidentService(
    IIncidentStore store,
    TimeProvider time,
    IOptions<UpdateCadence> cadence,
    OutboxSignal outboxSignal,
    ILogger<IncidentService> logger)
{
    public const int MaxTitleLength = 200;
    public const int MaxTextLength = 4000;
    public const int MaxSnoozeMinutes = 24 * 60;
    private const int MaxAttempts = 8;

    private UpdateCadence Cadence => cadence.Value;

    /// <summary>The events worth an outbox row: all but the timeline-only ones (notes).</summary>
    private static IReadOnlyList<IncidentEvent> Queued(IReadOnlyList<IncidentEvent> events) => OutboxRoutes.Queued(events);

    public async Task<IncidentResult> DeclareAsync(DeclareRequest request, Actor actor, CancellationToken cancellationToken)
    {
        var title = RequireText(request.Title, "a title", MaxTitleLength);
        var now = time.GetUtcNow();
        if (request.WarRoom is { } room && await store.FindByWarRoomAsync(room, cancellationToken) is { } owner)
        {
            throw new IncidentRuleException($"This conversation is already the war room of {owner.Number}.");
        }

        Incident incident;
        try
        {
            incident = await store.DeclareAsync(number =>
            {
                var roles = new Dictionary<IncidentRole, Person>();
                if (request.Commander is not null)
                {
                    roles[IncidentRole.Commander] = request.Commander;
                }

                var declared = Incident.Declare(number, title, request.Description, request.Severity, actor.Person, now, Cadence, request.IsPrivate)
                    with { Roles = roles, WarRooms = request.WarRoom is null ? [] : [request.WarRoom] };
                var entries = new List<NewTimelineEntry>
                {
                    new(now, TimelineKind.System, actor.Person, $"{actor.Person.DisplayName} declared {number} ({request.Severity.ToLabel()}): {title}"),
                };
                if (request.Commander is not null)
                {
                    entries.Add(new(now, TimelineKind.Role, actor.Person, $"{request.Commander.DisplayName} is {IncidentRole.Commander.ToTitle()}"));
                }

                var events = new List<IncidentEvent>
                {
                    Stamp(new IncidentDeclared(title, request.Severity, request.Responders), declared, now, actor),
                };
                if (request.Commander is not null)
                {
                    events.Add(Stamp(new RoleAssigned(IncidentRole.Commander, request.Commander, null), declared, now, actor));
                }

                return new IncidentChange(declared, entries, Queued(events))
                {
                    RoleAssignment = request.Commander is null
                        ? null
                        : new RoleAssignment(IncidentRole.Commander, request.Commander, actor.Person, now, null),
                    LinkWarRoom = request.WarRoom,
                };
            }, cancellationToken);
        }
        catch (WarRoomTakenException)
        {
            // Lost a race with another declare in the same conversation.
            throw new IncidentRuleException("This conversation is already the war room of another incident.");
        }

        outboxSignal.Notify();
        IncidentBotTelemetry.IncidentsDeclared.Add(1, new KeyValuePair<string, object?>("severity", incident.Severity.ToLabel()));
        LogDeclared(logger, incident.Number, incident.Severity);
        // The answer goes to the conversation it was declared in, which is no war room of a private incident.
        return new IncidentResult(incident, incident.IsPrivate
            ? $"{incident.Number} declared privately ({incident.Severity.ToLabel()})."
            : $"{incident.Number} declared ({incident.Severity.ToLabel()}): {incident.Title}");
    }

    public Task<IncidentResult> AssignRoleAsync(IncidentNumber number, IncidentRole role, Person holder, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            var previous = incident.RoleHolder(role);
            if (holder.IsSameAs(previous))
            {
                throw new IncidentRuleException($"{holder.DisplayName} is already {role.ToTitle()} of {incident.Number}.");
            }

            var roles = new Dictionary<IncidentRole, Person>(incident.Roles) { [role] = holder };
            var changed = incident with { Roles = roles };
            var text = previous is null
                ? $"{holder.DisplayName} is {role.ToTitle()}"
                : $"{previous.DisplayName} handed {role.ToTitle()} to {holder.DisplayName}";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.Role, actor.Person, text)], [Stamp(new RoleAssigned(role, holder, previous), changed, now, actor)])
                {
                    RoleAssignment = new RoleAssignment(role, holder, actor.Person, now, null),
                },
                $"{incident.Number}: {text}.");
        }, cancellationToken);

    public Task<IncidentResult> ChangeSeverityAsync(IncidentNumber number, Severity severity, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            if (incident.Severity == severity)
            {
                throw new IncidentRuleException($"{incident.Number} is already {severity.ToLabel()}.");
            }

            var changed = incident with { Severity = severity, NextUpdateDueAt = Cadence.NextDue(severity, incident.LastUpdateAt ?? incident.DeclaredAt) };
            var text = TimelineText.SeverityChanged(incident.Severity, severity);
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.Severity, actor.Person, text)], [Stamp(new SeverityChanged(incident.Severity, severity), changed, now, actor)]),
                $"{incident.Number}: {text}.");
        }, cancellationToken);

    public Task<IncidentResult> ChangeStatusAsync(IncidentNumber number, IncidentStatus status, Actor actor, CancellationToken cancellationToken) =>
        status == IncidentStatus.Resolved
            ? ResolveAsync(number, null, actor, cancellationToken)
            : ChangeAsync(number, (incident, now) =>
            {
                incident.EnsureOpen();
                if (incident.Status == status)
                {
                    throw new IncidentRuleException($"{incident.Number} is already {status.ToToken()}.");
                }

                var changed = incident with
                {
                    Status = status,
                    MitigatedAt = status == IncidentStatus.Monitoring ? incident.MitigatedAt ?? now : incident.MitigatedAt,
                };
                var text = $"Status changed from {incident.Status.ToToken()} to {status.ToToken()}";
                return new Decision(
                    new IncidentChange(changed, [new(now, TimelineKind.Status, actor.Person, text)], [Stamp(new StatusChanged(incident.Status, status), changed, now, actor)]),
                    $"{incident.Number}: {text}.");
            }, cancellationToken);

    public Task<IncidentResult> PostUpdateAsync(IncidentNumber number, string text, Actor actor, CancellationToken cancellationToken)
    {
        var update = RequireText(text, "the update text", MaxTextLength);
        return ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            var changed = incident with { LastUpdateAt = now, NextUpdateDueAt = Cadence.NextDue(incident.Severity, now) };
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.Update, actor.Person, update)], [Stamp(new UpdatePosted(update), changed, now, actor)]),
                $"{incident.Number}: status update posted.");
        }, cancellationToken);
    }

    /// <summary>A note by number: the incident is read once for the reply (a bad text is refused before that read).</summary>
    public async Task<IncidentResult> AddNoteAsync(IncidentNumber number, string text, Actor actor, CancellationToken cancellationToken)
    {
        _ = RequireText(text, "the note text", MaxTextLength);
        return await AddNoteAsync(await GetAsync(number, cancellationToken), text, actor, cancellationToken);
    }

    /// <summary>
    /// Adds a note to <paramref name="incident"/> as just read (the permission check's read): a note changes nothing the
    /// reply shows, so the incident is not read again.
    /// </summary>
    public async Task<IncidentResult> AddNoteAsync(Incident incident, string text, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var note = RequireText(text, "the note text", MaxTextLength);
        var now = time.GetUtcNow();
        var added = new NoteAdded(note) { Number = incident.Number, OccurredAt = now, Actor = actor.Person, Origin = actor.Origin };
        var queued = Queued([added]);
        if (!await store.AppendAsync(incident.Number, [new(now, TimelineKind.Note, actor.Person, note)], queued, cancellationToken))
        {
            throw new IncidentRuleException($"{incident.Number} does not exist.");
        }

        if (queued.Count > 0)
        {
            outboxSignal.Notify();
        }

        return new IncidentResult(incident, $"{incident.Number}: note added.");
    }

    public Task<IncidentResult> AcknowledgeAsync(IncidentNumber number, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            if (incident.AcknowledgedAt is { } at)
            {
                throw new IncidentRuleException($"{incident.Number} was already acknowledged at {at:yyyy-MM-dd HH:mm} UTC.");
            }

            var changed = incident with { AcknowledgedAt = now };
            var text = $"{actor.Person.DisplayName} acknowledged the incident";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.System, actor.Person, text)], [Stamp(new IncidentAcknowledged(), changed, now, actor)]),
                $"{incident.Number} acknowledged; escalation stopped.");
        }, cancellationToken);

    public Task<IncidentResult> ResolveAsync(IncidentNumber number, string? summary, Actor actor, CancellationToken cancellationToken)
    {
        var cleanSummary = OptionalText(summary, MaxTextLength);
        return ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            var changed = incident with
            {
                Status = IncidentStatus.Resolved,
                ResolvedAt = now,
                MitigatedAt = incident.MitigatedAt ?? now,
                NextUpdateDueAt = null,
                Summary = cleanSummary ?? incident.Summary,
            };
            var text = cleanSummary is null ? "Incident resolved" : $"Incident resolved: {cleanSummary}";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.Status, actor.Person, text)], [Stamp(new IncidentResolved(cleanSummary), changed, now, actor)]),
                $"{incident.Number} resolved after {Durations.Describe(now - incident.DeclaredAt)}.");
        }, cancellationToken);
    }

    /// <summary>Reopens a resolved incident as a fresh response: escalation restarts, so it needs acknowledging again.</summary>
    public Task<IncidentResult> ReopenAsync(IncidentNumber number, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            if (!incident.IsResolved)
            {
                throw new IncidentRuleException($"{incident.Number} is not resolved.");
            }

            var changed = incident with
            {
                Status = IncidentStatus.Investigating,
                ResolvedAt = null,
                AcknowledgedAt = null,
                NextUpdateDueAt = Cadence.NextDue(incident.Severity, now),
            };
            const string text = "Incident reopened";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.Status, actor.Person, text)], [Stamp(new IncidentReopened(), changed, now, actor)]),
                $"{incident.Number} reopened.");
        }, cancellationToken);

    /// <summary>Makes the incident private from now on: what was already said outside its war rooms stays said.</summary>
    public Task<IncidentResult> MakePrivateAsync(IncidentNumber number, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            if (incident.IsPrivate)
            {
                throw new IncidentRuleException($"{incident.Number} is already private.");
            }

            var changed = incident with { IsPrivate = true };
            var text = $"{actor.Person.DisplayName} made the incident private";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.System, actor.Person, text)], [Stamp(new IncidentMadePrivate(), changed, now, actor)]),
                $"{incident.Number} is private from now on.");
        }, cancellationToken);

    public Task<IncidentResult> SnoozeAsync(IncidentNumber number, int minutes, Actor actor, CancellationToken cancellationToken)
    {
        if (minutes is < 1 or > MaxSnoozeMinutes)
        {
            throw new IncidentRuleException($"Snooze takes 1 to {MaxSnoozeMinutes} minutes.");
        }

        return ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            if (incident.NextUpdateDueAt is null)
            {
                throw new IncidentRuleException($"{incident.Number} has no update reminders at {incident.Severity.ToLabel()}.");
            }

            var until = now.AddMinutes(minutes);
            var changed = incident with { NextUpdateDueAt = until };
            var text = $"{actor.Person.DisplayName} snoozed the update reminder for {minutes} min";
            return new Decision(
                new IncidentChange(changed, [new(now, TimelineKind.System, actor.Person, text)], [Stamp(new UpdateSnoozed(until), changed, now, actor)]),
                $"{incident.Number}: next update due at {until:HH:mm} UTC.");
        }, cancellationToken);
    }

    public Task<IncidentResult> RequestPageAsync(IncidentNumber number, int? level, Person? target, Actor actor, CancellationToken cancellationToken) =>
        ChangeAsync(number, (incident, now) =>
        {
            incident.EnsureOpen();
            var whom = target?.DisplayName ?? (level is { } l ? $"escalation level {l}" : "the escalation chain");
            var text = $"{actor.Person.DisplayName} paged {whom}";
            return new Decision(
                new IncidentChange(incident, [new(now, TimelineKind.Page, actor.Person, text)], [Stamp(new PageRequested(level, target), incident, now, actor)]) { AppendOnly = true },
                $"{incident.Number}: paging {whom}.");
        }, cancellationToken);

    public Task<IncidentResult> AddActionItemAsync(IncidentNumber number, string text, Person? owner, Actor actor, CancellationToken cancellationToken)
    {
        var item = RequireText(text, "the action item", MaxTextLength);
        return ChangeAsync(number, (incident, now) =>
        {
            var line = owner is null ? $"Action item: {item}" : $"Action item for {owner.DisplayName}: {item}";
            return new Decision(
                new IncidentChange(incident, [new(now, TimelineKind.Note, actor.Person, line)], [Stamp(new ActionItemAdded(item, owner), incident, now, actor)])
                {
                    ActionItem = new NewActionItem(item, owner, actor.Person, now),
                    AppendOnly = true,
                },
                $"{incident.Number}: action item recorded.");
        }, cancellationToken);
    }

    public Task<IncidentResult> LinkWarRoomAsync(IncidentNumber number, ChatSpace room, Actor actor, CancellationToken cancellationToken) =>
        LinkAsync(number, room, actor, announce: true, cancellationToken);

    /// <summary>
    /// Links a war room the bot has just opened for the incident, in the step that opened it. No <see cref="WarRoomLinked"/>
    /// event: the opener posts the card itself, so a second outbox round would only repeat it.
    /// </summary>
    public Task<IncidentResult> LinkOpenedWarRoomAsync(IncidentNumber number, ChatSpace room, Actor actor, CancellationToken cancellationToken) =>
        LinkAsync(number, room, actor, announce: false, cancellationToken);

    private async Task<IncidentResult> LinkAsync(IncidentNumber number, ChatSpace room, Actor actor, bool announce, CancellationToken cancellationToken)
    {
        var current = await store.FindByWarRoomAsync(room, cancellationToken);
        if (current is not null)
        {
            throw new IncidentRuleException(current.Number == number
                ? $"This conversation is already the war room of {number}."
                : $"This conversation is already the war room of {current.Number}.");
        }

        try
        {
            return await ChangeAsync(number, (incident, now) =>
            {
                var changed = incident with { WarRooms = [.. incident.WarRooms, room] };
                const string text = "Conversation linked as a war room";
                return new Decision(
                    new IncidentChange(changed, [new(now, TimelineKind.System, actor.Person, text)], announce ? [Stamp(new WarRoomLinked(room), changed, now, actor)] : [])
                    {
                        LinkWarRoom = room,
                    },
                    $"This conversation is now a war room of {incident.Number}.");
            }, cancellationToken);
        }
        catch (WarRoomTakenException)
        {
            throw new IncidentRuleException("This conversation is already the war room of another incident.");
        }
    }

    /// <summary>Records a war-room message; a second delivery of the same message changes nothing.</summary>
    public async Task<TimelineEntry?> CaptureMessageAsync(CapturedMessage message, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(message.Text))
        {
            return null;
        }

        var entry = new NewTimelineEntry(message.PostedAt, TimelineKind.Message, message.Author, Truncate(message.Text, MaxTextLength), Source: message.Source);
        return await store.CaptureMessageAsync(entry, cancellationToken);
    }

    public Task<TimelineEntry?> EditMessageAsync(MessageRef source, string text, CancellationToken cancellationToken) =>
        store.EditMessageAsync(source, Truncate(text, MaxTextLength), time.GetUtcNow(), cancellationToken);

    public Task<bool> DeleteMessageAsync(MessageRef source, CancellationToken cancellationToken) =>
        store.DeleteMessageAsync(source, cancellationToken);

    /// <summary>
    /// Pins or unpins a war-room message, keeping its original time. When the message was never captured
    /// (and <paramref name="content"/> is known), it is captured pinned.
    /// </summary>
    public async Task<TimelineEntry?> SetPinnedAsync(MessageRef source, bool pinned, CapturedMessage? content, CancellationToken cancellationToken)
    {
        var updated = await store.SetPinnedAsync(source, pinned, cancellationToken);
        if (updated is not null || !pinned || content is null)
        {
            return updated;
        }

        await CaptureMessageAsync(content, cancellationToken);
        return await store.SetPinnedAsync(source, pinned: true, cancellationToken);
    }

    public async Task<Incident> GetAsync(IncidentNumber number, CancellationToken cancellationToken) =>
        await store.GetAsync(number, cancellationToken) ?? throw new IncidentRuleException($"{number} does not exist.");

    private async Task<IncidentResult> ChangeAsync(IncidentNumber number, Func<Incident, DateTimeOffset, Decision> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var incident = await GetAsync(number, cancellationToken);
            var decision = decide(incident, time.GetUtcNow());
            try
            {
                var change = decision.Change with { Events = Queued(decision.Change.Events) };
                var saved = await store.SaveAsync(change, cancellationToken);
                if (change.Events.Count > 0)
                {
                    outboxSignal.Notify();
                }

                return new IncidentResult(saved, decision.Message);
            }
            catch (ConcurrencyConflictException) when (attempt < MaxAttempts)
            {
                await BackOffAsync(number, attempt, cancellationToken);
            }
        }
    }

    // A random pause growing with each attempt spreads out savers that all lost to the same winner.
    private async Task BackOffAsync(IncidentNumber number, int attempt, CancellationToken cancellationToken)
    {
        LogConflict(logger, number, attempt);
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(2, 20) * attempt), cancellationToken);
    }

    private static T Stamp<T>(T incidentEvent, Incident incident, DateTimeOffset now, Actor actor)
        where T : IncidentEvent =>
        incidentEvent with { IncidentId = incident.Id, Number = incident.Number, OccurredAt = now, Actor = actor.Person, Origin = actor.Origin };

    private static string RequireText(string? text, string what, int maxLength) =>
        OptionalText(text, maxLength) ?? throw new IncidentRuleException($"Please give {what}.");

    private static string? OptionalText(string? text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var trimmed = text.Trim();
        return trimmed.Length <= maxLength
            ? trimmed
            : throw new IncidentRuleException($"That text is {trimmed.Length} characters; the limit is {maxLength}.");
    }

    private static string Truncate(string text, int maxLength) =>
        text.Length <= maxLength ? text : string.Concat(text.AsSpan(0, maxLength - 1), "…");

    private sealed record Decision(IncidentChange Change, string Message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Incident {Number} declared at {Severity}")]
    private static partial void LogDeclared(ILogger logger, IncidentNumber number, Severity severity);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Concurrent change on {Number}, attempt {Attempt}; retrying")]
    private static partial void LogConflict(ILogger logger, IncidentNumber number, int attempt);
}
