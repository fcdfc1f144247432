namespace IncidentBot.Core.Incidents;

/// <summary>
/// The incident aggregate: its state and the rules for changing it. Every change method returns the
/// timeline entries that record it; a broken rule throws <see cref="IncidentRuleException"/>.
/// </summary>
public sealed class Incident
{
    private readonly Dictionary<IncidentRole, Person> _roles;
    private readonly List<ChatSpace> _warRooms;

    public Incident(
        long id,
        IncidentNumber number,
        string title,
        string? description,
        Severity severity,
        IncidentStatus status,
        Person declaredBy,
        DateTimeOffset declaredAt,
        int version,
        IDictionary<IncidentRole, Person>? roles = null,
        IEnumerable<ChatSpace>? warRooms = null)
    {
        Id = id;
        Number = number;
        Title = title;
        Description = description;
        Severity = severity;
        Status = status;
        DeclaredBy = declaredBy;
        DeclaredAt = declaredAt;
        Version = version;
        _roles = roles is null ? [] : new Dictionary<IncidentRole, Person>(roles);
        _warRooms = warRooms?.ToList() ?? [];
    }

    public long Id { get; }
    public IncidentNumber Number { get; }
    public string Title { get; private set; }
    public string? Description { get; private set; }
    public Severity Severity { get; private set; }
    public IncidentStatus Status { get; private set; }
    public Person DeclaredBy { get; }
    public DateTimeOffset DeclaredAt { get; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public DateTimeOffset? MitigatedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public DateTimeOffset? LastUpdateAt { get; init; }
    public DateTimeOffset? NextUpdateDueAt { get; init; }
    public string? Summary { get; init; }

    /// <summary>A private incident is seen only inside its war rooms (and by <c>Api:PrivateTokens</c>); once private, always private.</summary>
    public bool IsPrivate { get; init; }

    /// <summary>Optimistic concurrency token: bumped by every stored change.</summary>
    public int Version { get; }

    public bool IsResolved => Status == IncidentStatus.Resolved;
    public IReadOnlyDictionary<IncidentRole, Person> Roles => _roles;
    public IReadOnlyList<ChatSpace> WarRooms => _warRooms;

    public Person? RoleHolder(IncidentRole role) => _roles.GetValueOrDefault(role);

    public static Incident Declare(
        IncidentNumber number, string title, string? description, Severity severity, Person declaredBy,
        DateTimeOffset now, UpdateCadence cadence, bool isPrivate = false) =>
        new(0, number, title, description, severity, IncidentStatus.Investigating, declaredBy, now, 0)
        {
            NextUpdateDueAt = cadence.NextDue(severity, now),
            IsPrivate = isPrivate,
        };

    public Incident With(
        Severity? severity = null,
        IncidentStatus? status = null,
        Optional<DateTimeOffset?> acknowledgedAt = default,
        Optional<DateTimeOffset?> mitigatedAt = default,
        Optional<DateTimeOffset?> resolvedAt = default,
        Optional<DateTimeOffset?> lastUpdateAt = default,
        Optional<DateTimeOffset?> nextUpdateDueAt = default,
        Optional<string?> summary = default,
        IDictionary<IncidentRole, Person>? roles = null,
        IEnumerable<ChatSpace>? warRooms = null,
        bool? isPrivate = null) =>
        new(Id, Number, Title, Description, severity ?? Severity, status ?? Status, DeclaredBy, DeclaredAt, Version,
            roles ?? _roles, warRooms ?? _warRooms)
        {
            AcknowledgedAt = acknowledgedAt.Or(AcknowledgedAt),
            MitigatedAt = mitigatedAt.Or(MitigatedAt),
            ResolvedAt = resolvedAt.Or(ResolvedAt),
            LastUpdateAt = lastUpdateAt.Or(LastUpdateAt),
            NextUpdateDueAt = nextUpdateDueAt.Or(NextUpdateDueAt),
            Summary = summary.Or(Summary),
            IsPrivate = isPrivate ?? IsPrivate,
        };

    public void EnsureOpen()
    {
        if (IsResolved)
        {
            throw new IncidentRuleException($"{Number} is already resolved. Use `reopen` first.");
        }
    }
}

/// <summary>Distinguishes "leave as is" from "set to null" in <see cref="Incident.With"/>.</summary>
public readonly struct Optional<T>
{
    private readonly T _value;
    private readonly bool _hasValue;

    private Optional(T value)
    {
        _value = value;
        _hasValue = true;
    }

    public static implicit operator Optional<T>(T value) => new(value);

    public T Or(T fallback) => _hasValue ? _value : fallback;
}

/// <summary>A command broke an incident rule; the message is shown to the user as is.</summary>
public sealed class IncidentRuleException(string message) : Exception(message);
