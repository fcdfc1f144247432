using System.Text.Json.Serialization;

namespace IncidentBot.Core.Incidents;

/// <summary>
/// Something that happened to an incident. Stored in the outbox in the same transaction as the change,
/// then delivered to the front-ends and the scheduler, so acknowledged work survives a crash.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(IncidentDeclared), "declared")]
[JsonDerivedType(typeof(RoleAssigned), "role_assigned")]
[JsonDerivedType(typeof(SeverityChanged), "severity_changed")]
[JsonDerivedType(typeof(StatusChanged), "status_changed")]
[JsonDerivedType(typeof(UpdatePosted), "update_posted")]
[JsonDerivedType(typeof(NoteAdded), "note_added")]
[JsonDerivedType(typeof(IncidentAcknowledged), "acknowledged")]
[JsonDerivedType(typeof(IncidentResolved), "resolved")]
[JsonDerivedType(typeof(IncidentReopened), "reopened")]
[JsonDerivedType(typeof(PageRequested), "page_requested")]
[JsonDerivedType(typeof(UpdateSnoozed), "update_snoozed")]
[JsonDerivedType(typeof(ActionItemAdded), "action_item_added")]
[JsonDerivedType(typeof(WarRoomLinked), "war_room_linked")]
[JsonDerivedType(typeof(IncidentMadePrivate), "made_private")]
[JsonDerivedType(typeof(MessagePinned), "message_pinned")]
[JsonDerivedType(typeof(UpdateReminderDue), "update_reminder_due")]
[JsonDerivedType(typeof(CommanderMissing), "commander_missing")]
[JsonDerivedType(typeof(IncidentEscalated), "escalated")]
[JsonDerivedType(typeof(EscalationStateChanged), "escalation_state_changed")]
[JsonDerivedType(typeof(BridgeRequested), "bridge_requested")]
[JsonDerivedType(typeof(MeetingEnded), "meeting_ended")]
public abstract record IncidentEvent
{
    public long IncidentId { get; init; }
    public IncidentNumber Number { get; init; }
    public DateTimeOffset OccurredAt { get; init; }
    public Person? Actor { get; init; }

    /// <summary>The conversation the command came from, so replies can go back there.</summary>
    public ChatSpace? Origin { get; init; }
}

public sealed record IncidentDeclared(string Title, Severity Severity, IReadOnlyList<Person> Responders) : IncidentEvent;
public sealed record RoleAssigned(IncidentRole Role, Person Holder, Person? Previous) : IncidentEvent;
public sealed record SeverityChanged(Severity From, Severity To) : IncidentEvent;
public sealed record StatusChanged(IncidentStatus From, IncidentStatus To) : IncidentEvent;
public sealed record UpdatePosted(string Text) : IncidentEvent;
public sealed record NoteAdded(string Text) : IncidentEvent;

/// <summary>The incident was acknowledged: in chat, or in a pager (<see cref="Pager"/>) whose webhook reported it.</summary>
public sealed record IncidentAcknowledged : IncidentEvent
{
    /// <summary>PagerDuty or Opsgenie when someone acknowledged there; null for a chat (or card) ack.</summary>
    public string? Pager { get; init; }
}

public sealed record IncidentResolved(string? Summary) : IncidentEvent
{
    /// <summary>The pager whose resolve closed the incident (<c>Paging:ResolveIncidentFromPager</c>); null when resolved in chat.</summary>
    public string? Pager { get; init; }
}

public sealed record IncidentReopened : IncidentEvent;
public sealed record PageRequested(int? Level, Person? Target) : IncidentEvent;
public sealed record UpdateSnoozed(DateTimeOffset Until) : IncidentEvent;
public sealed record ActionItemAdded(string Text, Person? Owner) : IncidentEvent;
public sealed record WarRoomLinked(ChatSpace Room) : IncidentEvent;
/// <summary><c>private</c> typed in a war room: from now on the incident is seen only inside its war rooms.</summary>
public sealed record IncidentMadePrivate : IncidentEvent;

public sealed record MessagePinned(MessageRef Message, bool Pinned) : IncidentEvent;

/// <summary>A status update is overdue; front-ends remind the war room, mentioning the IC and comms lead.</summary>
/// <param name="Missed">How many consecutive due times passed without an update (1 = first reminder).</param>
public sealed record UpdateReminderDue(DateTimeOffset DueAt, int Missed, Person? Commander, Person? Comms) : IncidentEvent;

/// <summary>Nobody has taken the incident commander role since <paramref name="DeclaredAt"/>.</summary>
public sealed record CommanderMissing(DateTimeOffset DeclaredAt) : IncidentEvent;

/// <summary>The escalation chain was paged at <paramref name="Level"/> (1-based); front-ends tell the war room.</summary>
public sealed record IncidentEscalated(int Level, IReadOnlyList<string> Targets, string Reason) : IncidentEvent;

/// <summary>Pages of an escalation step went out (or failed) and its next level was set: the cards show it.</summary>
public sealed record EscalationStateChanged : IncidentEvent;

/// <summary>Someone asked for a new meeting bridge (<c>bridge</c>); the front-end that makes bridges makes one.</summary>
public sealed record BridgeRequested : IncidentEvent;

/// <summary>The meeting held in war room <paramref name="Room"/> ended; its transcript can be fetched (later).</summary>
public sealed record MeetingEnded(ChatSpace Room) : IncidentEvent;
