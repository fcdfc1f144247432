using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Core.WarRooms;

/// <summary>
/// Keeps one chat platform's war rooms in step with the incident, from the outbox: decides what each event means for a war
/// room (open one, post the notice or reminder once per room, refresh the card, invite a new role holder, archive on
/// resolve) and has the platform's <see cref="IChatWarRoom"/> do it. One instance per platform, each with an outbox lane
/// of its own (named after the platform), so a platform that is down holds up only its own posts.
/// </summary>
public sealed partial class WarRoomProjection(
    IChatWarRoom platform,
    IIncidentStore incidents,
    IncidentService service,
    IChatDeliveries deliveries,
    ILogger<WarRoomProjection> logger) : IIncidentEventHandler
{
    public string Name => platform.Platform;

    public string Destination => platform.Destination;

    /// <summary>Nothing while the platform is off; a note is already in the war room as the command's own answer.</summary>
    public bool Receives(Type eventType) => platform.Enabled && !OutboxRoutes.IsTimelineOnly(eventType);

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incidentEvent);
        if (!platform.Enabled)
        {
            return;
        }

        try
        {
            await ProjectAsync(incidentEvent, cancellationToken);
        }
        catch (Exception ex) when (platform.IsRefusal(ex))
        {
            // Refused for good; outages and rate limits are not refusals and propagate, so the outbox retries them.
            LogRefused(logger, platform.Destination, IncidentEventNames.Of(incidentEvent), incidentEvent.Number, ex.Message);
        }
    }

    private async Task ProjectAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        if (incidentEvent is MessagePinned pinned)
        {
            if (pinned.Pinned && pinned.Message.Platform == platform.Platform)
            {
                var where = new ChatSpace(platform.Platform, pinned.Message.Channel);
                await deliveries.OnceAsync(
                    where, DeliveryKey.For(pinned, DeliveryKey.ConfirmPin), () => platform.ConfirmPinAsync(pinned, cancellationToken), cancellationToken);
            }

            return;
        }

        var notice = WarRoomNotices.For(incidentEvent);
        var changesCard = ChangesCard(incidentEvent);
        if (notice is null && !changesCard && incidentEvent is not (IncidentDeclared or WarRoomLinked or UpdateReminderDue or IncidentMadePrivate))
        {
            return;
        }

        var incident = await incidents.GetAsync(incidentEvent.Number, cancellationToken);
        if (incident is null)
        {
            return;
        }

        switch (incidentEvent)
        {
            case IncidentDeclared declared when declared.Origin?.Platform == platform.Platform:
                await platform.OpenAsync(incident, declared, cancellationToken);
                return;
            case WarRoomLinked linked when linked.Room.Platform == platform.Platform:
                await platform.LinkedAsync(incident, linked.Room, cancellationToken);
                return;
            case IncidentDeclared or WarRoomLinked:
                return;
            case IncidentMadePrivate madePrivate:
                await MoveToPrivateAsync(incident, madePrivate, cancellationToken);
                return;
        }

        var announceKey = DeliveryKey.For(incidentEvent, DeliveryKey.Announce);
        foreach (var room in await RoomsAsync(incident, cancellationToken))
        {
            if (incidentEvent is RoleAssigned assigned && assigned.Holder.Platform == platform.Platform)
            {
                await platform.RoleTakenAsync(room, assigned.Holder, cancellationToken);
            }

            var told = platform.AnswersInRoom && room == incidentEvent.Origin;
            if (!told && incidentEvent is UpdateReminderDue due)
            {
                await deliveries.OnceAsync(room, announceKey, () => platform.RemindAsync(room, due, cancellationToken), cancellationToken);
            }
            else if (!told && notice is { } said)
            {
                await deliveries.OnceAsync(room, announceKey, () => platform.PostAsync(room, said, cancellationToken), cancellationToken);
            }

            if (changesCard)
            {
                await platform.RefreshCardAsync(incident, room, cancellationToken);
            }
        }

        if (incidentEvent is IncidentResolved)
        {
            await ArchiveAsync(incident, incidentEvent, cancellationToken);
        }
    }

    /// <summary>After the resolved card and notice: the rooms the bot made are archived, once per resolution, and the timeline told.</summary>
    private async Task ArchiveAsync(Incident incident, IncidentEvent resolved, CancellationToken cancellationToken)
    {
        var key = DeliveryKey.For(resolved, DeliveryKey.Archive);
        foreach (var room in await RoomsAsync(incident, cancellationToken))
        {
            if (await deliveries.WasMadeAsync(room, key, cancellationToken) || await platform.ArchiveAsync(incident, room, cancellationToken) is not { } outcome)
            {
                continue;
            }

            await service.RecordWarRoomAsync(incident.Number, outcome, cancellationToken);
            await deliveries.RecordAsync(room, key, cancellationToken);
        }
    }

    /// <summary>
    /// A public incident turned private: the platform opens a private room where its rooms are seen beyond the people named;
    /// every other room of the platform gets the pointer (no title) once, is closed where it can be, and hears nothing more.
    /// </summary>
    private async Task MoveToPrivateAsync(Incident incident, IncidentMadePrivate madePrivate, CancellationToken cancellationToken)
    {
        var rooms = await RoomsAsync(incident, cancellationToken);
        if (rooms.Count == 0)
        {
            return;
        }

        var kept = await platform.OpenPrivateAsync(incident, madePrivate, cancellationToken);
        var pointer = WarRoomNotices.MovedToPrivate(incident);
        foreach (var room in rooms.Where(r => r != kept))
        {
            var outcome = await platform.LeaveAsync(incident, room, pointer, cancellationToken);
            await service.RecordWarRoomAsync(incident.Number, outcome, cancellationToken);
            await deliveries.RecordAsync(room, DeliveryKey.Left(incident), cancellationToken);
        }
    }

    /// <summary>The incident's rooms on this platform, without those a private incident left (they are seen beyond the people named).</summary>
    private async Task<List<ChatSpace>> RoomsAsync(Incident incident, CancellationToken cancellationToken)
    {
        var rooms = incident.WarRooms.Where(r => r.Platform == platform.Platform).ToList();
        if (!incident.IsPrivate)
        {
            return rooms;
        }

        var open = new List<ChatSpace>();
        foreach (var room in rooms)
        {
            if (!await deliveries.WasMadeAsync(room, DeliveryKey.Left(incident), cancellationToken))
            {
                open.Add(room);
            }
        }

        return open;
    }

    /// <summary>The events that change what the incident card shows.</summary>
    public static bool ChangesCard(IncidentEvent incidentEvent) => incidentEvent is
        RoleAssigned or SeverityChanged or StatusChanged or UpdatePosted or IncidentAcknowledged or
        IncidentResolved or IncidentReopened or UpdateSnoozed or EscalationStateChanged;

    [LoggerMessage(Level = LogLevel.Error, Message = "{Platform} refused the {Event} of {Number} for good: {Error}; not retried")]
    private static partial void LogRefused(ILogger logger, string platform, string @event, IncidentNumber number, string error);
}
