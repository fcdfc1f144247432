using System.Text.Json;
using System.Text.Json.Serialization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Api;

/// <summary>The JSON API's shapes (DESIGN.md §2): camelCase, every key present, times in UTC with Z.</summary>
public sealed record IncidentListDto(IReadOnlyList<IncidentDto> Incidents);

public sealed record IncidentDto(
    string Number,
    string Title,
    string Severity,
    string Status,
    DateTime DeclaredAt,
    DateTime? AcknowledgedAt,
    DateTime? MitigatedAt,
    DateTime? ResolvedAt,
    DateTime? NextUpdateDueAt,
    RolesDto Roles,
    IReadOnlyList<WarRoomDto> WarRooms,
    string? Description,
    string? Summary,
    PersonDto DeclaredBy)
{
    public static IncidentDto From(Incident incident) => new(
        incident.Number.ToString(),
        incident.Title,
        incident.Severity.ToLabel(),
        incident.Status.ToToken(),
        incident.DeclaredAt.UtcDateTime,
        incident.AcknowledgedAt?.UtcDateTime,
        incident.MitigatedAt?.UtcDateTime,
        incident.ResolvedAt?.UtcDateTime,
        incident.NextUpdateDueAt?.UtcDateTime,
        new RolesDto(
            PersonDto.From(incident.RoleHolder(IncidentRole.Commander)),
            PersonDto.From(incident.RoleHolder(IncidentRole.Lead)),
            PersonDto.From(incident.RoleHolder(IncidentRole.Comms)),
            PersonDto.From(incident.RoleHolder(IncidentRole.Scribe))),
        incident.WarRooms.Select(r => new WarRoomDto(r.Platform, r.Channel)).ToList(),
        incident.Description,
        incident.Summary,
        PersonDto.From(incident.DeclaredBy)!);
}

public sealed record RolesDto(PersonDto? Ic, PersonDto? Lead, PersonDto? Comms, PersonDto? Scribe);

public sealed record PersonDto(string UserId, string Name, string Platform)
{
    public static PersonDto? From(Person? person) =>
        person is null ? null : new PersonDto(person.UserId, person.DisplayName, person.Platform);
}

public sealed record WarRoomDto(string Platform, string Channel);

public sealed record TimelineDto(string Number, IReadOnlyList<TimelineEntryDto> Entries);

public sealed record TimelineEntryDto(long Id, DateTime OccurredAt, string Kind, string? Author, string Text, bool Pinned, SourceDto? Source)
{
    public static TimelineEntryDto From(TimelineEntry entry) => new(
        entry.Id,
        entry.OccurredAt.UtcDateTime,
        entry.Kind.ToToken(),
        entry.Author?.DisplayName,
        entry.Text,
        entry.Pinned,
        entry.Source is { } s ? new SourceDto(s.Platform, s.Channel, s.MessageId) : null);
}

public sealed record SourceDto(string Platform, string Channel, string MessageId);

public sealed record ErrorDto(string Error);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IncidentListDto))]
[JsonSerializable(typeof(IncidentDto))]
[JsonSerializable(typeof(TimelineDto))]
[JsonSerializable(typeof(ErrorDto))]
[JsonSerializable(typeof(HealthDto))]
[JsonSerializable(typeof(ReadinessDto))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

public sealed record HealthDto(string Status, IReadOnlyDictionary<string, string> Checks);

/// <summary><c>/readyz</c>: the checks, and how this instance's database connection pools are used (empty on SQLite).</summary>
public sealed record ReadinessDto(string Status, IReadOnlyDictionary<string, string> Checks, IReadOnlyDictionary<string, PoolDto> Pools);

/// <summary>One pool: connections busy and idle of max, requests waiting now, and since start waits and timeouts (503s).</summary>
public sealed record PoolDto(int Max, int Busy, int? Idle, int Waiting, long Waits, long? Timeouts);
