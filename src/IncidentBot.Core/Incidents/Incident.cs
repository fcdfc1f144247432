namespace IncidentBot.Core.Incidents;

/// <summary>
/// An incident's state as stored: an immutable snapshot. <see cref="Application.IncidentService"/> decides every
/// change and builds the next snapshot with <c>with</c>; the store bumps <see cref="Version"/> when it saves one.
/// </summary>
/// <param name="Version">Optimistic concurrency token: bumped by every stored change.</param>
public sealed record Incident(
    long Id,
    IncidentNumber Number,
    string Title,
    string? Description,
    Severity Severity,
    IncidentStatus Status,
    Person DeclaredBy,
    DateTimeOffset DeclaredAt,
    int Version)
{
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public DateTimeOffset? MitigatedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public DateTimeOffset? LastUpdateAt { get; init; }
    public DateTimeOffset? NextUpdateDueAt { get; init; }
    public string? Summary { get; init; }
    public IReadOnlyDictionary<IncidentRole, Person> Roles { get; init; } = new Dictionary<IncidentRole, Person>();
    public IReadOnlyList<ChatSpace> WarRooms { get; init; } = [];

    /// <summary>A private incident is seen only inside its war rooms (and by <c>Api:PrivateTokens</c>); once private, always private.</summary>
    public bool IsPrivate { get; init; }

    public bool IsResolved => Status == IncidentStatus.Resolved;

    public Person? RoleHolder(IncidentRole role) => Roles.GetValueOrDefault(role);

    public static Incident Declare(
        IncidentNumber number, string title, string? description, Severity severity, Person declaredBy,
        DateTimeOffset now, UpdateCadence cadence, bool isPrivate = false) =>
        new(0, number, title, description, severity, IncidentStatus.Investigating, declaredBy, now, 0)
        {
            NextUpdateDueAt = cadence.NextDue(severity, now),
            IsPrivate = isPrivate,
        };

    /// <exception cref="IncidentRuleException">The incident is resolved.</exception>
    public void EnsureOpen()
    {
        if (IsResolved)
        {
            throw new IncidentRuleException($"{Number} is already resolved. Use `reopen` first.");
        }
    }
}

/// <summary>A command broke an incident rule; the message is shown to the user as is.</summary>
public sealed class IncidentRuleException(string message) : Exception(message);
