using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>
/// A change to one incident, applied atomically: the new incident state (checked against its
/// <see cref="Incident.Version"/>, unless <see cref="AppendOnly"/>), the timeline entries and outbox events that record it. The store writes
/// role and war-room changes only from <see cref="RoleAssignment"/> and <see cref="LinkWarRoom"/>; the
/// incident's own <see cref="Incident.Roles"/> and <see cref="Incident.WarRooms"/> must agree with them.
/// </summary>
public sealed record IncidentChange(Incident Incident, IReadOnlyList<NewTimelineEntry> Entries, IReadOnlyList<IncidentEvent> Events)
{
    /// <summary>A new role holder; the previous holding of that role is ended in the same change.</summary>
    public RoleAssignment? RoleAssignment { get; init; }

    public NewActionItem? ActionItem { get; init; }

    /// <summary>A conversation to make a war room of this incident.</summary>
    public ChatSpace? LinkWarRoom { get; init; }

    /// <summary>
    /// The change only adds entries, events or an action item and leaves the incident row as it is, so it neither
    /// checks nor bumps the version nor locks the row: a busy war room's notes never contend with each other or with
    /// lifecycle changes. It carries no <see cref="RoleAssignment"/> or <see cref="LinkWarRoom"/>.
    /// </summary>
    public bool AppendOnly { get; init; }
}

public sealed record NewActionItem(string Text, Person? Owner, Person? CreatedBy, DateTimeOffset CreatedAt);

/// <summary>Which incidents to list; every filter left null matches all.</summary>
public sealed record IncidentQuery(bool OpenOnly = false, int Limit = 100)
{
    public bool ResolvedOnly { get; init; }

    public Severity? Severity { get; init; }

    /// <summary>Declared at or after this time.</summary>
    public DateTimeOffset? DeclaredFrom { get; init; }

    /// <summary>Declared strictly before this time.</summary>
    public DateTimeOffset? DeclaredBefore { get; init; }

    /// <summary>Leaves private incidents out (for readers without <c>Api:PrivateTokens</c>).</summary>
    public bool PublicOnly { get; init; }

    /// <summary>Case-insensitive substring of the title.</summary>
    public string? TitleContains { get; init; }
}

/// <summary>Persistence port for incidents and their timelines.</summary>
public interface IIncidentStore
{
    /// <summary>Allocates the next incident number and stores what <paramref name="build"/> makes of it.</summary>
    Task<Incident> DeclareAsync(Func<IncidentNumber, IncidentChange> build, CancellationToken cancellationToken);

    /// <summary>Stores a change; throws <see cref="ConcurrencyConflictException"/> when the incident moved on meanwhile.</summary>
    Task<Incident> SaveAsync(IncidentChange change, CancellationToken cancellationToken);

    /// <summary>
    /// Appends entries and events (their <see cref="IncidentEvent.IncidentId"/> is set here) to the incident numbered
    /// <paramref name="number"/> without reading it: one round trip, no version check, no row lock. Returns false when
    /// nothing was stored: there is no incident with that number (or every entry was stored before).
    /// </summary>
    Task<bool> AppendAsync(IncidentNumber number, IReadOnlyList<NewTimelineEntry> entries, IReadOnlyList<IncidentEvent> events, CancellationToken cancellationToken);

    Task<Incident?> GetAsync(IncidentNumber number, CancellationToken cancellationToken);

    Task<Incident?> FindByWarRoomAsync(ChatSpace room, CancellationToken cancellationToken);

    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<Incident>> ListAsync(IncidentQuery query, CancellationToken cancellationToken);

    /// <summary>Oldest first, by original time.</summary>
    Task<IReadOnlyList<TimelineEntry>> GetTimelineAsync(long incidentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<RoleAssignment>> GetRoleHistoryAsync(long incidentId, CancellationToken cancellationToken);

    Task<IReadOnlyList<ActionItem>> GetActionItemsAsync(long incidentId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a chat message once per <see cref="NewTimelineEntry.Source"/>, in the timeline of the incident whose war
    /// room it was posted in (one statement: the hot path of a busy war room); returns null when the conversation is no
    /// war room or the message was already stored.
    /// </summary>
    Task<TimelineEntry?> CaptureMessageAsync(NewTimelineEntry entry, CancellationToken cancellationToken);

    Task<TimelineEntry?> FindBySourceAsync(MessageRef source, CancellationToken cancellationToken);

    /// <summary>Returns the edited entry, or null when no live entry has that source.</summary>
    Task<TimelineEntry?> EditMessageAsync(MessageRef source, string text, DateTimeOffset editedAt, CancellationToken cancellationToken);

    /// <summary>Removes the entry from the timeline; returns false when there was none.</summary>
    Task<bool> DeleteMessageAsync(MessageRef source, CancellationToken cancellationToken);

    /// <summary>Returns the entry with its new pinned flag, or null when no live entry has that source.</summary>
    Task<TimelineEntry?> SetPinnedAsync(MessageRef source, bool pinned, CancellationToken cancellationToken);
}

/// <summary>The incident changed between load and save; the caller reloads and tries again.</summary>
public sealed class ConcurrencyConflictException(IncidentNumber number)
    : Exception($"{number} was changed concurrently.");

/// <summary>The conversation is already the war room of another incident.</summary>
public sealed class WarRoomTakenException(ChatSpace room)
    : Exception($"{room.Channel} is already linked to an incident.");
