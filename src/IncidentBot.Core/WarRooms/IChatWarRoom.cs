using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.WarRooms;

/// <summary>
/// One chat platform's war rooms, as <see cref="WarRoomProjection"/> drives them: the projection decides what an incident
/// event means for a war room (open, card, notice, archive) and which posts were already made; the platform's
/// implementation only does it, in its own API and format. Every method may run again for the same event (at-least-once).
/// </summary>
public interface IChatWarRoom
{
    /// <summary>The <see cref="ChatSpace.Platform"/> of its rooms : also the name of its outbox lane.</summary>
    string Platform { get; }

    /// <summary>The platform's name for people, named in the timeline when a delivery is given up.</summary>
    string Destination { get; }

    /// <summary>False while the platform is not configured: its projection receives nothing.</summary>
    bool Enabled { get; }

    /// <summary>
    /// Whether a command's answer in a war room is seen by everyone there, so the room the change came from is not
    /// told again; where answers are private (seen only by the sender) every room gets the notice.
    /// </summary>
    bool AnswersInRoom { get; }

    /// <summary>
    /// Opens the war room of an incident declared on this platform and links it in the same step, the moment the platform
    /// answers that the room exists (so nothing said there is missed), then posts the card; resumes where an earlier
    /// attempt stopped.
    /// </summary>
    Task OpenAsync(Incident incident, IncidentDeclared declared, CancellationToken cancellationToken);

    /// <summary>A conversation people already use was linked (<c>link INC-N</c>): join it where needed, post the card, read back what was said.</summary>
    Task LinkedAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken);

    /// <summary>Posts the incident card in <paramref name="room"/>, or updates the one posted there in place.</summary>
    Task RefreshCardAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken);

    /// <summary>Posts <paramref name="notice"/> in <paramref name="room"/>.</summary>
    Task PostAsync(ChatSpace room, WarRoomNotice notice, CancellationToken cancellationToken);

    /// <summary>Posts the overdue-update reminder (mentions and a way to post the update) in <paramref name="room"/>.</summary>
    Task RemindAsync(ChatSpace room, UpdateReminderDue due, CancellationToken cancellationToken);

    /// <summary>Someone of this platform took a role: they belong in the room (where the platform has members to add).</summary>
    Task RoleTakenAsync(ChatSpace room, Person holder, CancellationToken cancellationToken);

    /// <summary>
    /// Archives <paramref name="room"/> of the resolved <paramref name="incident"/> if archiving is on and the bot made that
    /// room; returns what the timeline should say (archived, or why not), or null when the room is not the bot's to archive.
    /// </summary>
    Task<string?> ArchiveAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken);

    /// <summary>
    /// The incident turned private (<c>private</c> typed in a war room): opens a private war room for it here where this
    /// platform's rooms of it are seen beyond the people named, and returns it (null when there is none here, e.g. the
    /// incident was declared elsewhere). Every other room of this platform is then left (<see cref="LeaveAsync"/>).
    /// Resumes where an earlier attempt stopped.
    /// </summary>
    Task<ChatSpace?> OpenPrivateAsync(Incident incident, IncidentMadePrivate madePrivate, CancellationToken cancellationToken);

    /// <summary>
    /// Posts <paramref name="pointer"/> in <paramref name="room"/>, which the now private incident leaves, and closes it where
    /// the platform can (archive); returns what the timeline should say.
    /// </summary>
    Task<string> LeaveAsync(Incident incident, ChatSpace room, WarRoomNotice pointer, CancellationToken cancellationToken);

    /// <summary>A message of this platform was pinned: capture it if it was never seen, and confirm the pin where it was made.</summary>
    Task ConfirmPinAsync(MessagePinned pinned, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exception"/> is the platform refusing for good (archived channel, missing scope): retrying cannot help.</summary>
    bool IsRefusal(Exception exception);
}
