using System.Globalization;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Graph;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Meetings;

/// <summary>
/// The incident's meeting bridge (<c>Teams:MeetingOrganizerId</c>): an online meeting made through Graph per request
/// (the declare, then each <c>bridge</c>), its chat linked as a war room so what is said and done there reaches the
/// timeline, its join link recorded and posted in the Teams war rooms. Every step is safe to repeat (outbox redelivery):
/// Graph's <c>createOrGet</c> with an external id per request returns the same meeting, and each record is made once.
/// A refusal from Graph ends visibly, on the card and in the timeline; throttling and outages are left to the outbox.
/// </summary>
public sealed partial class MeetingBridge(
    MeetingStore meetings,
    GraphClient graph,
    IncidentService service,
    IIncidentStore incidents,
    TeamsStore store,
    IChatDeliveries deliveries,
    ConnectorClient connector,
    IOptions<TeamsOptions> options,
    TimeProvider time,
    ILogger<MeetingBridge> logger) : IMeetingBridges
{
    /// <summary>The request key of the bridge made when the incident is declared.</summary>
    public const string DeclaredRequest = "declared";

    private const int MaxSubjectLength = 250;

    public bool Enabled => options.Value.HasMeetingBridge;

    /// <summary>A <c>bridge</c> request's key: the time it was asked for, the same on every redelivery.</summary>
    public static string RequestKey(BridgeRequested requested) =>
        requested.OccurredAt.UtcTicks.ToString(CultureInfo.InvariantCulture);

    /// <summary>The bridge of one request, made and recorded once; null when bridges are off.</summary>
    public async Task<BridgeMeeting?> EnsureAsync(Incident incident, string requestKey, Person? actor, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return null;
        }

        var organizer = options.Value.MeetingOrganizerId;
        var meeting = await meetings.GetAsync(incident.Id, requestKey, cancellationToken);
        if (meeting is null)
        {
            try
            {
                var made = await graph.CreateOrGetMeetingAsync(organizer, ExternalId(incident, requestKey), Subject(incident), time.GetUtcNow(), cancellationToken);
                meeting = new BridgeMeeting(incident.Id, requestKey, organizer, made.Id, made.JoinUrl, made.ThreadId, null);
                LogBridgeMade(logger, incident.Number);
            }
            catch (GraphException ex) when (!ex.IsTransient)
            {
                meeting = new BridgeMeeting(incident.Id, requestKey, organizer, null, null, null, Describe(ex));
            }

            meeting = await meetings.SaveAsync(meeting, cancellationToken);
        }

        if (meeting.ThreadId is { } thread)
        {
            await LinkChatAsync(incident, thread, actor, cancellationToken);
        }

        await deliveries.OnceAsync(
            TimelineRoom, $"{incident.Id}:bridge:{requestKey}:timeline",
            () => service.RecordWarRoomAsync(incident.Number, Line(incident, meeting), cancellationToken), cancellationToken);

        return meeting;
    }

    /// <summary>Posts the join link (or why there is none) once in each Teams war room other than the meeting's own chat.</summary>
    public async Task AnnounceAsync(Incident incident, BridgeMeeting meeting, CancellationToken cancellationToken)
    {
        var key = $"{incident.Id}:bridge:{meeting.RequestKey}:{DeliveryKey.Announce}";
        var text = meeting.Created ? $"{incident.Number} meeting bridge: [Join the meeting]({meeting.JoinUrl})" : Line(incident, meeting);
        foreach (var room in incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform && r.Channel != meeting.ThreadId))
        {
            // A room a private incident left hears nothing more of it.
            if (incident.IsPrivate && await deliveries.WasMadeAsync(room, DeliveryKey.Left(incident), cancellationToken))
            {
                continue;
            }

            if (await store.GetConversationAsync(room.Channel, cancellationToken) is { } reference)
            {
                await deliveries.OnceAsync(
                    room, key, () => connector.SendAsync(reference.ServiceUrl, room.Channel, TeamsRenderer.Text(text), cancellationToken), cancellationToken);
            }
        }
    }

    private async Task LinkChatAsync(Incident incident, string threadId, Person? actor, CancellationToken cancellationToken)
    {
        var room = new ChatSpace(TeamsIds.Platform, threadId);
        var current = await incidents.GetAsync(incident.Number, cancellationToken);
        if (current is null || current.WarRooms.Contains(room))
        {
            return;
        }

        try
        {
            await service.LinkWarRoomAsync(incident.Number, room, new Actor(actor ?? new Person(TeamsIds.Platform, "incidentbot", "IncidentBot")), cancellationToken);
        }
        catch (IncidentRuleException ex)
        {
            // Fine when an earlier delivery linked it; otherwise the meeting stays usable through its link, its chat uncaptured.
            if ((await incidents.FindByWarRoomAsync(room, cancellationToken))?.Id != incident.Id)
            {
                LogChatNotLinked(logger, incident.Number, ex.Message);
            }
        }
    }

    /// <summary>The subject people see in Teams (and in the organizer's calendar): the number, and the title unless private.</summary>
    public static string Subject(Incident incident)
    {
        var subject = incident.IsPrivate ? incident.Number.ToString() : $"{incident.Number} {incident.Title}";
        return subject.Length <= MaxSubjectLength ? subject : subject[..MaxSubjectLength];
    }

    /// <summary>Unique per incident (its declare time tells apart databases that reuse ids) and per request.</summary>
    private static string ExternalId(Incident incident, string requestKey) =>
        string.Create(CultureInfo.InvariantCulture, $"incidentbot-{incident.Id}-{incident.DeclaredAt.UtcTicks}-{requestKey}");

    private static string Line(Incident incident, BridgeMeeting meeting) =>
        meeting.Created
            ? $"Meeting bridge for {incident.Number}: {meeting.JoinUrl}"
            : $"The meeting bridge for {incident.Number} could not be created: {meeting.Failure} Try again with @IncidentBot bridge.";

    private static string Describe(GraphException ex)
    {
        var hint = ex.Status switch
        {
            401 or 400 when ex.Code == "TokenRequestFailed" => " Check Teams:AppId, Teams:AppPassword and Teams:TenantId.",
            403 => " The app needs OnlineMeetings.ReadWrite.All (application, admin consent) and an application access policy granted to Teams:MeetingOrganizerId.",
            404 => " Check Teams:MeetingOrganizerId (a user's object id in this tenant, with a Teams licence).",
            _ => "",
        };
        return $"Microsoft Graph answered {ex.Status} {ex.Code}.{hint}";
    }

    /// <summary>Where the bridge's timeline line is recorded as delivered: the timeline, not a conversation.</summary>
    private static readonly ChatSpace TimelineRoom = new(TeamsIds.Platform, "timeline");

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: made the meeting bridge for {Number}")]
    private static partial void LogBridgeMade(ILogger logger, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: the meeting chat of {Number} could not be linked as a war room: {Reason}")]
    private static partial void LogChatNotLinked(ILogger logger, IncidentNumber number, string reason);
}
