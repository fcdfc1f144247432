namespace IncidentBot.Core.Incidents;

/// <summary>One line of an incident's timeline. <see cref="OccurredAt"/> is the original time of the event.</summary>
public sealed record TimelineEntry(
    long Id,
    long IncidentId,
    DateTimeOffset OccurredAt,
    TimelineKind Kind,
    Person? Author,
    string Text,
    bool Pinned,
    MessageRef? Source,
    DateTimeOffset? EditedAt = null);

/// <summary>A timeline entry before it is stored.</summary>
public sealed record NewTimelineEntry(
    DateTimeOffset OccurredAt,
    TimelineKind Kind,
    Person? Author,
    string Text,
    bool Pinned = false,
    MessageRef? Source = null);

/// <summary>A follow-up to do after the incident.</summary>
public sealed record ActionItem(long Id, long IncidentId, string Text, Person? Owner, Person? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? DoneAt);

/// <summary>One holding of a role; <see cref="EndedAt"/> is set when the role was handed to someone else.</summary>
public sealed record RoleAssignment(IncidentRole Role, Person Holder, Person? AssignedBy, DateTimeOffset AssignedAt, DateTimeOffset? EndedAt);
