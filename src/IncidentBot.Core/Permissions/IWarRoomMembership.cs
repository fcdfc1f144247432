using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Permissions;

/// <summary>Asks a chat platform who is in a conversation; one per platform.</summary>
public interface IWarRoomMembership
{
    /// <summary>The <see cref="ChatSpace.Platform"/> this answers for.</summary>
    string Platform { get; }

    /// <summary>Whether <paramref name="person"/> is a member of <paramref name="room"/>; null when the platform cannot tell.</summary>
    Task<bool?> IsMemberAsync(ChatSpace room, Person person, CancellationToken cancellationToken);
}
