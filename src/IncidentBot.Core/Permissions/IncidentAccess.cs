using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Permissions;

/// <summary>What a command does to an incident, as far as permissions go.</summary>
public enum IncidentAction
{
    /// <summary>Shows the incident's content: timeline, postmortem.</summary>
    Read,

    /// <summary>Changes it.</summary>
    Change,

    /// <summary>A change that <see cref="PermissionOptions.RestrictToRoles"/> can limit to role holders: page, resolve, sev.</summary>
    RoleChange,

    /// <summary>Makes the conversation it was typed in a war room of the incident.</summary>
    Link,
}

/// <summary>
/// A command was refused by <see cref="IncidentAccess"/>. <see cref="Pointer"/> is the incident whose war rooms the
/// front-end may point to; null when even that would say too much (a private incident).
/// </summary>
public sealed class AccessRefusedException(string reason, string message, Incident? pointer) : Exception(message)
{
    /// <summary>A low-cardinality token: outside_war_room, private, not_role_holder, not_member.</summary>
    public string Reason { get; } = reason;

    public Incident? Pointer { get; } = pointer;
}

/// <summary>
/// The one place that decides who sees and who may change an incident, from where. Inside a war room membership is
/// access. Outside: a private incident shows nothing but its number; changes are refused once the incident has a war
/// room (<see cref="PermissionOptions.ChangesOnlyInWarRoom"/>); <c>link</c> needs a member of the target's war room.
/// Every refusal is logged and counted.
/// </summary>
public sealed partial class IncidentAccess(
    IOptionsMonitor<PermissionOptions> options,
    IEnumerable<IWarRoomMembership> memberships,
    ILogger<IncidentAccess> logger)
{
    /// <summary>Typed in one of the incident's war rooms.</summary>
    public static bool IsInside(Incident incident, Actor actor) =>
        actor.Origin is { } origin && incident.WarRooms.Contains(origin);

    /// <summary>Whether the incident's title and content may be shown where <paramref name="actor"/> typed.</summary>
    public static bool CanSee(Incident incident, Actor actor) => !incident.IsPrivate || IsInside(incident, actor);

    /// <summary>Throws <see cref="AccessRefusedException"/> when <paramref name="actor"/> may not <paramref name="verb"/> the incident from where they are.</summary>
    public async Task EnsureAllowedAsync(string verb, IncidentAction action, Incident incident, Actor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(actor);
        var refusal = action == IncidentAction.Link
            ? await CheckLinkAsync(incident, actor, cancellationToken)
            : Check(action, incident, actor);
        if (refusal is not { } r)
        {
            return;
        }

        IncidentBotTelemetry.CommandsRefused.Add(
            1, new KeyValuePair<string, object?>("command", verb), new KeyValuePair<string, object?>("reason", r.Reason));
        LogRefused(logger, verb, incident.Number, actor.Person.Platform, actor.Person.UserId, r.Reason);
        throw new AccessRefusedException(r.Reason, r.Message, incident.IsPrivate ? null : incident);
    }

    private (string Reason, string Message)? Check(IncidentAction action, Incident incident, Actor actor)
    {
        var inside = IsInside(incident, actor);
        if (!inside && incident.IsPrivate)
        {
            return ("private", $"{incident.Number} is private: use its war room.");
        }

        var settings = options.CurrentValue;
        if (action != IncidentAction.Read && !inside && settings.ChangesOnlyInWarRoom && incident.WarRooms.Count > 0)
        {
            return ("outside_war_room", $"{incident.Number} is changed only in its war room.");
        }

        if (action == IncidentAction.RoleChange && settings.RestrictToRoles && !HoldsRole(incident, actor.Person))
        {
            return ("not_role_holder", $"Only the role holders of {incident.Number} may do that (Permissions:RestrictToRoles).");
        }

        return null;
    }

    private async Task<(string Reason, string Message)?> CheckLinkAsync(Incident incident, Actor actor, CancellationToken cancellationToken)
    {
        if (incident.WarRooms.Count == 0 && !incident.IsPrivate || HoldsRole(incident, actor.Person) || incident.DeclaredBy.IsSameAs(actor.Person))
        {
            return null;
        }

        foreach (var room in incident.WarRooms)
        {
            var membership = memberships.FirstOrDefault(m => m.Platform == room.Platform);
            if (membership is not null && await membership.IsMemberAsync(room, actor.Person, cancellationToken) == true)
            {
                return null;
            }
        }

        return incident.IsPrivate
            ? ("private", $"{incident.Number} is private: only members of its war room may link a conversation to it.")
            : ("not_member", $"Only members of the war room of {incident.Number} may link a conversation to it.");
    }

    // While nobody holds a role, the declarer stands in: an incident must never be left that nobody may resolve.
    private static bool HoldsRole(Incident incident, Person person) =>
        incident.Roles.Values.Any(person.IsSameAs) || incident.Roles.Count == 0 && incident.DeclaredBy.IsSameAs(person);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused `{Verb}` on {Number} for {Platform} user {User}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string verb, IncidentNumber number, string platform, string user, string reason);
}
