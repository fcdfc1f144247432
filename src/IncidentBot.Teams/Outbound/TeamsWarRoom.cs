using System.Globalization;
using System.Text;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Graph;
using IncidentBot.Teams.Meetings;
using IncidentBot.Teams.Schema;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Outbound;

/// <summary>
/// Teams' war rooms as Core's <see cref="WarRoomProjection"/> drives them, through the Bot Connector (proactive messages
/// from stored conversation references): rooms opened by the <see cref="WarRoomOpener"/>, the Adaptive Card posted and
/// updated in place, notices as text, the reminder as a card, Graph-made channels archived on resolve; the meeting bridge
/// made as the room opens (<see cref="MeetingBridge"/>), so the card shows its join link.
/// </summary>
public sealed partial class TeamsWarRoom(
    WarRoomOpener opener,
    PrivateChatOpener privateChats,
    IChatDeliveries deliveries,
    TeamsStore store,
    ConnectorClient connector,
    IncidentCardSource cards,
    MeetingBridge bridge,
    IIncidentStore incidents,
    GraphClient graph,
    IOptions<TeamsOptions> options,
    ILogger<TeamsWarRoom> logger) : IChatWarRoom
{
    public string Platform => TeamsIds.Platform;

    public string Destination => "Teams";

    public bool Enabled => true;

    /// <summary>The bot answers a command in the conversation it came from, where everyone sees it.</summary>
    public bool AnswersInRoom => true;

    public async Task OpenAsync(Incident incident, IncidentDeclared declared, CancellationToken cancellationToken)
    {
        if (declared.Origin is not { } origin)
        {
            return;
        }

        // A private incident never opens in (or as) the conversation it was declared in: a group chat of the people named.
        IReadOnlyList<ChatSpace> rooms = incident.IsPrivate
            ? await privateChats.OpenAsync(incident, declared, [incident.DeclaredBy, .. incident.Roles.Values, .. declared.Responders], origin, cancellationToken) is { } chat ? [chat] : []
            : await opener.OpenAsync(incident, declared, origin, cancellationToken);
        if (bridge.Enabled)
        {
            // Every Teams room's card is refreshed there, now showing the bridge.
            await OpenBridgeAsync(declared, MeetingBridge.DeclaredRequest, cancellationToken);
            return;
        }

        foreach (var room in rooms)
        {
            await RefreshCardAsync(incident, room, cancellationToken);
        }
    }

    /// <summary>
    /// The meeting bridge of one request (the declare, a <c>bridge</c>) once the war room is open: made, its chat linked,
    /// the card of every Teams war room showing its join link (or why there is none), and the link posted there once.
    /// </summary>
    public async Task OpenBridgeAsync(IncidentEvent request, string requestKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await incidents.GetAsync(request.Number, cancellationToken) is not { } incident
            || await bridge.EnsureAsync(incident, requestKey, request.Actor, cancellationToken) is not { } meeting)
        {
            return;
        }

        incident = await incidents.GetAsync(request.Number, cancellationToken) ?? incident;
        foreach (var room in incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform && r.Channel != meeting.ThreadId))
        {
            if (!await HasLeftAsync(incident, room, cancellationToken))
            {
                await RefreshCardAsync(incident, room, cancellationToken);
            }
        }

        await bridge.AnnounceAsync(incident, meeting, cancellationToken);
    }

    public Task LinkedAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken) =>
        RefreshCardAsync(incident, room, cancellationToken);

    public async Task RefreshCardAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken)
    {
        var reference = await ReferenceAsync(incident.Number, room, cancellationToken);
        if (reference is null)
        {
            return;
        }

        var card = TeamsRenderer.Card(await cards.RenderAsync(incident, cancellationToken));
        var posted = await store.GetCardAsync(incident.Id, room.Channel, cancellationToken);
        if (posted is not null)
        {
            // In an incident's own channel the card is the root of a thread, and Teams edits a post in its thread.
            var target = WarRoomOpener.IsIncidentChannel(room.Channel) ? $"{room.Channel};messageid={posted.ActivityId}" : room.Channel;
            await connector.UpdateAsync(reference.ServiceUrl, target, posted.ActivityId, card, cancellationToken);
            return;
        }

        var activityId = await connector.SendAsync(reference.ServiceUrl, room.Channel, card, cancellationToken);
        if (activityId is not null)
        {
            await store.SaveCardAsync(new CardPost(incident.Id, room.Channel, activityId), cancellationToken);
        }
    }

    public Task PostAsync(ChatSpace room, WarRoomNotice notice, CancellationToken cancellationToken) =>
        SendAsync(room, TeamsRenderer.Text(Text(notice)), cancellationToken);

    public Task RemindAsync(ChatSpace room, UpdateReminderDue due, CancellationToken cancellationToken) =>
        SendAsync(room, TeamsRenderer.Card(IncidentCards.Reminder(due)) with { Summary = $"{due.Number}: a status update is overdue" }, cancellationToken);

    /// <summary>A Teams thread or chat has no member list the bot keeps; people join by opening it.</summary>
    public Task RoleTakenAsync(ChatSpace room, Person holder, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Archives the incident's own channels (never threads or linked chats).</summary>
    public async Task<string?> ArchiveAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken)
    {
        if (!options.Value.ArchiveOnResolve || !WarRoomOpener.IsIncidentChannel(room.Channel))
        {
            return null;
        }

        if (await store.GetConversationAsync(room.Channel, cancellationToken) is not { TeamId: { } teamId } || teamId.StartsWith("19:", StringComparison.Ordinal))
        {
            LogNoTeam(logger, incident.Number, room.Channel);
            return null;
        }

        try
        {
            await graph.ArchiveChannelAsync(teamId, room.Channel, cancellationToken);
            return $"Archived the war-room channel in Teams ({incident.Number} resolved).";
        }
        catch (GraphException ex) when (!ex.IsTransient)
        {
            return $"Could not archive the war-room channel in Teams: Microsoft Graph answered {ex.Status} {ex.Code}."
                + (ex.Status == 403 ? " The app needs ChannelSettings.ReadWrite.All (application, admin consent)." : "");
        }
    }

    /// <summary>
    /// An incident declared from Teams turned private: a group chat for its declarer, role holders and whoever typed
    /// <c>private</c>, with the card as its first post (the projection then leaves the other Teams rooms with a pointer).
    /// An incident declared elsewhere keeps its private room there.
    /// </summary>
    public async Task<ChatSpace?> OpenPrivateAsync(Incident incident, IncidentMadePrivate madePrivate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(madePrivate);
        if (incident.DeclaredBy.Platform != TeamsIds.Platform)
        {
            return null;
        }

        var chat = await privateChats.OpenAsync(incident, madePrivate, [incident.DeclaredBy, .. incident.Roles.Values, madePrivate.Actor], madePrivate.Origin, cancellationToken);
        if (chat is not null)
        {
            await RefreshCardAsync(await incidents.GetAsync(incident.Number, cancellationToken) ?? incident, chat, cancellationToken);
        }

        return chat;
    }

    /// <summary>A room the private incident left hears nothing more of it (the projection skips it; so does the bridge).</summary>
    private async Task<bool> HasLeftAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken) =>
        incident.IsPrivate && await deliveries.WasMadeAsync(room, DeliveryKey.Left(incident), cancellationToken);

    /// <summary>A Teams room the now private incident left (a linked chat or thread): the pointer, and nothing more from then on.</summary>
    public async Task<string> LeaveAsync(Incident incident, ChatSpace room, WarRoomNotice pointer, CancellationToken cancellationToken)
    {
        await PostAsync(room, pointer, cancellationToken);
        return "Left a Teams war room seen beyond the people named: the incident is private now.";
    }

    /// <summary>A pin in Teams is answered where it was made, by the command or reaction itself.</summary>
    public Task ConfirmPinAsync(MessagePinned pinned, CancellationToken cancellationToken) => Task.CompletedTask;

    public bool IsRefusal(Exception exception) => false;

    /// <summary>Core's notice as Teams text: people by name, commands addressed to the bot.</summary>
    public static string Text(WarRoomNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var text = new StringBuilder();
        foreach (var part in notice.Parts)
        {
            text.Append(part switch
            {
                NoticeText plain => plain.Text,
                NoticeStrong strong => strong.Text,
                NoticePerson { Person: { } person } => person.DisplayName,
                NoticePerson => WarRoomNotices.BotName,
                NoticeTime time => time.At.UtcDateTime.ToString("HH:mm 'UTC'", CultureInfo.InvariantCulture),
                NoticeCommand command => "@IncidentBot " + command.Command,
                NoticeQuote quote => " " + quote.Text,
                _ => "",
            });
        }

        return text.ToString();
    }

    private async Task SendAsync(ChatSpace room, Activity activity, CancellationToken cancellationToken)
    {
        if (await store.GetConversationAsync(room.Channel, cancellationToken) is not { } reference)
        {
            LogNoReference(logger, room.Channel);
            return;
        }

        await connector.SendAsync(reference.ServiceUrl, room.Channel, activity, cancellationToken);
    }

    private async Task<ConversationReference?> ReferenceAsync(IncidentNumber number, ChatSpace room, CancellationToken cancellationToken)
    {
        var reference = await store.GetConversationAsync(room.Channel, cancellationToken);
        if (reference is null)
        {
            LogNoCardReference(logger, number, room.Channel);
        }

        return reference;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no team recorded for the war-room channel {ChannelId} of {Number}, so it is not archived")]
    private static partial void LogNoTeam(ILogger logger, IncidentNumber number, string channelId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no conversation reference for {ConversationId}, so the card of {Number} cannot be posted there")]
    private static partial void LogNoCardReference(ILogger logger, IncidentNumber number, string conversationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no conversation reference for {ConversationId}, so the notice cannot be posted there")]
    private static partial void LogNoReference(ILogger logger, string conversationId);
}
