using System.Globalization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.WarRooms;

/// <summary>
/// The one record of what was already posted (or otherwise done once) in a war room for an incident event, for every chat
/// platform: outbox delivery is at-least-once, so a step asks here first and records itself after it succeeded.
/// </summary>
public interface IChatDeliveries
{
    Task<bool> WasMadeAsync(ChatSpace room, string key, CancellationToken cancellationToken);

    Task RecordAsync(ChatSpace room, string key, CancellationToken cancellationToken);
}

/// <summary>What a delivery key names: one step made for one incident event, in one room (the room is kept beside the key).</summary>
public static class DeliveryKey
{
    /// <summary>The event's notice (or reminder) posted in the room.</summary>
    public const string Announce = "announce";

    /// <summary>The room archived on resolve, and the timeline told.</summary>
    public const string Archive = "archive";

    /// <summary>A pin confirmed where the message was pinned.</summary>
    public const string ConfirmPin = "confirm-pin";

    /// <summary>A war room that could not be opened, reported where the incident was declared.</summary>
    public const string ReportFailure = "report-failure";

    /// <summary><c>&lt;incident id&gt;:&lt;event name&gt;:&lt;event time in ticks&gt;:&lt;step&gt;</c>, from the event's stable name.</summary>
    public static string For(IncidentEvent incidentEvent, string step)
    {
        ArgumentNullException.ThrowIfNull(incidentEvent);
        return string.Create(
            CultureInfo.InvariantCulture, $"{incidentEvent.IncidentId}:{IncidentEventNames.Of(incidentEvent)}:{incidentEvent.OccurredAt.UtcTicks}:{step}");
    }
}

public static class ChatDeliveriesExtensions
{
    /// <summary>Runs <paramref name="step"/> unless it was made in <paramref name="room"/> under <paramref name="key"/>, then records it.</summary>
    public static async Task OnceAsync(this IChatDeliveries deliveries, ChatSpace room, string key, Func<Task> step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(step);
        if (await deliveries.WasMadeAsync(room, key, cancellationToken))
        {
            return;
        }

        await step();
        await deliveries.RecordAsync(room, key, cancellationToken);
    }
}
