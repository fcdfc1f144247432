using System.Globalization;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Graph;
using IncidentBot.Teams.Meetings;
using IncidentBot.Teams.Schema;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Events;

/// <summary>
/// Keeps the Teams war rooms in step with the incident, from the outbox (at-least-once, so every step checks
/// what is already done): opens the war room when an incident is declared from Teams, posts the incident card
/// into each Teams war room and updates it in place after every change, and announces changes, reminders and
/// escalations in the war rooms other than the one the change came from.
/// </summary>
public sealed partial class TeamsWarRoomHandler(
    IIncidentStore incidents,
    IncidentService service,
    TeamsStore store,
    ConnectorClient connector,
    IncidentCardSource cardSource,
    GraphClient graph,
    MeetingBridge bridge,
    IOptions<TeamsOptions> options,
    ILogger<TeamsWarRoomHandler> logger) : IIncidentEventHandler
{
    public string Destination => "Teams";

    /// <summary>Notes, action items and pins are answered where they were made; nothing else in the war room changes.</summary>
    public bool Receives(Type eventType) =>
        eventType != typeof(NoteAdded) && eventType != typeof(ActionItemAdded) && eventType != typeof(MessagePinned);

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        switch (incidentEvent)
        {
            case IncidentDeclared declared:
                if (declared.Origin?.Platform == TeamsIds.Platform)
                {
                    await OpenWarRoomAsync(declared, declared.Origin, cancellationToken);
                }

                await OpenBridgeAsync(declared, MeetingBridge.DeclaredRequest, cancellationToken);
                return;
            case BridgeRequested requested:
                await OpenBridgeAsync(requested, MeetingBridge.RequestKey(requested), cancellationToken);
                return;
            case WarRoomLinked linked when linked.Room.Platform == TeamsIds.Platform:
                if (await incidents.GetAsync(linked.Number, cancellationToken) is { } incident)
                {
                    await PostOrUpdateCardAsync(incident, linked.Room.Channel, cancellationToken);
                }

                return;
        }

        var announcement = incidentEvent is UpdateReminderDue due
            ? TeamsRenderer.Card(IncidentCards.Reminder(due)) with { Summary = $"{due.Number}: a status update is overdue" }
            : Announcement(incidentEvent) is { } text ? TeamsRenderer.Text(text) : null;
        var changesCard = incidentEvent is RoleAssigned or SeverityChanged or StatusChanged or UpdatePosted or IncidentAcknowledged
            or IncidentResolved or IncidentReopened or UpdateSnoozed or EscalationStateChanged;
        if (announcement is null && !changesCard)
        {
            return;
        }

        var current = await incidents.GetAsync(incidentEvent.Number, cancellationToken);
        if (current is null)
        {
            return;
        }

        foreach (var room in current.WarRooms.Where(r => r.Platform == TeamsIds.Platform))
        {
            if (changesCard)
            {
                await PostOrUpdateCardAsync(current, room.Channel, cancellationToken);
            }

            if (announcement is not null && room != incidentEvent.Origin)
            {
                await AnnounceOnceAsync(incidentEvent, room.Channel, announcement, cancellationToken);
            }
        }

        if (incidentEvent is IncidentResolved && options.Value.ArchiveOnResolve)
        {
            await ArchiveChannelsAsync(current, incidentEvent, cancellationToken);
        }
    }

    private async Task OpenWarRoomAsync(IncidentDeclared declared, ChatSpace origin, CancellationToken cancellationToken)
    {
        var incident = await incidents.GetAsync(declared.Number, cancellationToken);
        if (incident is null)
        {
            return;
        }

        if (options.Value.WarRoom == WarRoomMode.Channel)
        {
            await OpenChannelAsync(incident, declared, origin, cancellationToken);
            return;
        }

        var channelId = options.Value.IncidentsChannelId;
        if (string.IsNullOrWhiteSpace(channelId))
        {
            // The conversation it was declared in is the war room (linked by the declare itself).
            await PostOrUpdateCardAsync(incident, origin.Channel, cancellationToken);
            return;
        }

        // The thread made by an earlier delivery of this event: linked first thing, its card recorded just after.
        var threadPrefix = channelId + ";messageid=";
        var cards = await store.GetCardsAsync(incident.Id, cancellationToken);
        var thread = cards.FirstOrDefault(c => c.ConversationId.StartsWith(threadPrefix, StringComparison.Ordinal))
            ?? incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform && r.Channel.StartsWith(threadPrefix, StringComparison.Ordinal))
                .Select(r => new CardPost(incident.Id, r.Channel, ThreadRoot(r.Channel)))
                .FirstOrDefault();
        var reference = await store.GetConversationAsync(origin.Channel, cancellationToken)
            ?? throw new InvalidOperationException($"No conversation reference for {origin.Channel}; cannot reach Teams.");
        if (thread is null)
        {
            var channelData = new JsonObject { ["channel"] = new JsonObject { ["id"] = channelId } };
            if (reference.TenantId is not null)
            {
                channelData["tenant"] = new JsonObject { ["id"] = reference.TenantId };
            }

            var created = await connector.CreateConversationAsync(reference.ServiceUrl, new ConversationParameters
            {
                IsGroup = true,
                Bot = new ChannelAccount(reference.BotId, reference.BotName),
                TenantId = reference.TenantId,
                ChannelData = channelData,
                Activity = TeamsRenderer.Card(await cardSource.RenderAsync(incident, cancellationToken)),
            }, cancellationToken);
            thread = new CardPost(incident.Id, created.Id!, created.ActivityId ?? ThreadRoot(created.Id!));
            LogThreadOpened(logger, incident.Number, thread.ConversationId);
        }

        // Linked the moment Teams answers, before anything else is recorded, so replies in the thread are captured from
        // its first second. The Bot Connector has no history to read back what was said before that, unlike Slack.
        await EnsureLinkedAsync(incident, thread.ConversationId, declared.Actor, cancellationToken);
        if (await store.GetConversationAsync(thread.ConversationId, cancellationToken) is null)
        {
            await store.SaveConversationAsync(reference with
            {
                ConversationId = thread.ConversationId,
                ConversationType = "channel",
                ChannelId = channelId,
                MeetingId = null,
            }, cancellationToken);
        }

        if (!cards.Any(c => c.ConversationId == thread.ConversationId))
        {
            await store.SaveCardAsync(thread, cancellationToken);
        }

        if (incident.WarRooms.Contains(origin))
        {
            // Declared in a meeting chat: it is a war room too and gets its own card.
            await PostOrUpdateCardAsync(incident, origin.Channel, cancellationToken);
        }
    }

    /// <summary>The meeting bridge of one request, once the war room is open: on every Teams card and posted in the war rooms.</summary>
    private async Task OpenBridgeAsync(IncidentEvent request, string requestKey, CancellationToken cancellationToken)
    {
        if (!bridge.Enabled || await incidents.GetAsync(request.Number, cancellationToken) is not { } incident
            || await bridge.EnsureAsync(incident, requestKey, request.Actor, cancellationToken) is not { } meeting)
        {
            return;
        }

        incident = await incidents.GetAsync(request.Number, cancellationToken) ?? incident;
        foreach (var room in incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform && r.Channel != meeting.ThreadId))
        {
            await PostOrUpdateCardAsync(incident, room.Channel, cancellationToken);
        }

        await bridge.AnnounceAsync(incident, meeting, cancellationToken);
    }

    /// <summary>
    /// A standard channel of its own through Graph, in one of <c>Teams:WarRoomTeamIds</c> by turn, linked the moment Graph
    /// answers (nothing said there is lost), then the card as its first post. A refusal from Graph ends visibly: a
    /// timeline entry and a message where the incident was declared; throttling and outages are left to the outbox's retries.
    /// </summary>
    private async Task OpenChannelAsync(Incident incident, IncidentDeclared declared, ChatSpace origin, CancellationToken cancellationToken)
    {
        var reference = await store.GetConversationAsync(origin.Channel, cancellationToken)
            ?? throw new InvalidOperationException($"No conversation reference for {origin.Channel}; cannot reach Teams.");
        var teams = options.Value.TeamIds;
        var teamId = teams[(incident.Number.Value - 1) % teams.Count];

        // The channel made by an earlier delivery of this event: linked first thing.
        var channelId = incident.WarRooms.FirstOrDefault(r => r.Platform == TeamsIds.Platform && r != origin && IsIncidentChannel(r.Channel))?.Channel;
        if (channelId is null)
        {
            GraphChannel channel;
            try
            {
                channel = await CreateChannelAsync(incident, teamId, cancellationToken);
            }
            catch (GraphException ex) when (!ex.IsTransient)
            {
                await ReportChannelFailureAsync(incident, declared, origin, reference, teamId, ex, cancellationToken);
                return;
            }

            channelId = channel.Id;
            LogChannelOpened(logger, incident.Number, channel.DisplayName, teamId);
            await EnsureLinkedAsync(incident, channelId, declared.Actor, cancellationToken);
        }

        if (await store.GetConversationAsync(channelId, cancellationToken) is null)
        {
            await store.SaveConversationAsync(reference with
            {
                ConversationId = channelId,
                ConversationType = "channel",
                TeamId = teamId,
                ChannelId = channelId,
                MeetingId = null,
            }, cancellationToken);
        }

        if (await store.GetCardAsync(incident.Id, channelId, cancellationToken) is null)
        {
            var channelData = new JsonObject { ["channel"] = new JsonObject { ["id"] = channelId } };
            if (reference.TenantId is not null)
            {
                channelData["tenant"] = new JsonObject { ["id"] = reference.TenantId };
            }

            var created = await connector.CreateConversationAsync(reference.ServiceUrl, new ConversationParameters
            {
                IsGroup = true,
                Bot = new ChannelAccount(reference.BotId, reference.BotName),
                TenantId = reference.TenantId,
                ChannelData = channelData,
                Activity = TeamsRenderer.Card(await cardSource.RenderAsync(incident, cancellationToken)),
            }, cancellationToken);
            await store.SaveCardAsync(new CardPost(incident.Id, channelId, created.ActivityId ?? ThreadRoot(created.Id!)), cancellationToken);
        }

        if (incident.WarRooms.Contains(origin))
        {
            // Declared in a meeting chat: it is a war room too and gets its own card.
            await PostOrUpdateCardAsync(incident, origin.Channel, cancellationToken);
        }
    }

    /// <summary>
    /// Tries the incident's name, then with -2, -3… while Graph answers NameAlreadyExists in that team. A taken name whose
    /// channel carries this incident's description is the one an earlier try made (its answer or the link after it was
    /// lost to a crash or timeout), so it is taken rather than a second channel made.
    /// </summary>
    private async Task<GraphChannel> CreateChannelAsync(Incident incident, string teamId, CancellationToken cancellationToken)
    {
        const int maxNames = 5;
        var description = $"{incident.Number}: {incident.Title}";
        description = description.Length > 1024 ? description[..1024] : description;
        for (var attempt = 1; ; attempt++)
        {
            var name = ChannelNames.For(incident.Number, incident.Title, attempt);
            try
            {
                return await graph.CreateChannelAsync(teamId, name, description, cancellationToken);
            }
            catch (GraphException ex) when (ex.NameAlreadyExists && attempt < maxNames)
            {
                if (await graph.FindChannelAsync(teamId, name, cancellationToken) is { } existing && existing.Description == description)
                {
                    LogChannelReused(logger, incident.Number, name, teamId);
                    return new GraphChannel(existing.Id, existing.DisplayName, null);
                }

                LogNameTaken(logger, incident.Number, name, teamId);
            }
        }
    }

    private async Task ReportChannelFailureAsync(
        Incident incident, IncidentDeclared declared, ChatSpace origin, ConversationReference reference, string teamId, GraphException ex, CancellationToken cancellationToken)
    {
        var hint = ex.Status switch
        {
            401 or 400 when ex.Code == "TokenRequestFailed" => " Check Teams:AppId, Teams:AppPassword and Teams:TenantId.",
            403 => " The app needs Channel.Create.Group (consented when the team installs the app) or Channel.Create with admin consent.",
            404 => " Check Teams:WarRoomTeamIds (team group ids) and that the app is installed in that team.",
            _ => "",
        };
        var text = $"Could not create the war-room channel for {incident.Number} in team {teamId}: Microsoft Graph answered {ex.Status} {ex.Code}.{hint}"
            + $" Use an existing conversation instead with @IncidentBot link {incident.Number}.";
        await service.RecordWarRoomAsync(incident.Number, text, cancellationToken);
        var key = string.Create(CultureInfo.InvariantCulture, $"{incident.Id}:ChannelFailed:{declared.OccurredAt.UtcTicks}");
        if (!await store.IsDeliveredAsync(key, origin.Channel, cancellationToken))
        {
            await connector.SendAsync(reference.ServiceUrl, origin.Channel, TeamsRenderer.Text(text), cancellationToken);
            await store.RecordDeliveryAsync(key, origin.Channel, cancellationToken);
        }
    }

    /// <summary>Archives the incident's own channels (never threads or linked chats), once per resolution.</summary>
    private async Task ArchiveChannelsAsync(Incident incident, IncidentEvent resolved, CancellationToken cancellationToken)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{incident.Id}:Archive:{resolved.OccurredAt.UtcTicks}");
        foreach (var room in incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform && IsIncidentChannel(r.Channel)))
        {
            if (await store.IsDeliveredAsync(key, room.Channel, cancellationToken))
            {
                continue;
            }

            if (await store.GetConversationAsync(room.Channel, cancellationToken) is not { TeamId: { } teamId } || teamId.StartsWith("19:", StringComparison.Ordinal))
            {
                LogNoTeam(logger, incident.Number, room.Channel);
                continue;
            }

            string text;
            try
            {
                await graph.ArchiveChannelAsync(teamId, room.Channel, cancellationToken);
                text = $"Archived the war-room channel in Teams ({incident.Number} resolved).";
            }
            catch (GraphException ex) when (!ex.IsTransient)
            {
                text = $"Could not archive the war-room channel in Teams: Microsoft Graph answered {ex.Status} {ex.Code}."
                    + (ex.Status == 403 ? " The app needs ChannelSettings.ReadWrite.All (application, admin consent)." : "");
            }

            await service.RecordWarRoomAsync(incident.Number, text, cancellationToken);
            await store.RecordDeliveryAsync(key, room.Channel, cancellationToken);
        }
    }

    /// <summary>A whole channel (<c>19:…@thread.tacv2</c> without <c>;messageid=</c>): only Graph-made incident channels are linked so.</summary>
    private static bool IsIncidentChannel(string conversationId) =>
        conversationId.StartsWith("19:", StringComparison.Ordinal)
        && conversationId.EndsWith("@thread.tacv2", StringComparison.Ordinal)
        && !conversationId.Contains(";messageid=", StringComparison.Ordinal);

    private async Task EnsureLinkedAsync(Incident incident, string conversationId, Person? actor, CancellationToken cancellationToken)
    {
        var room = new ChatSpace(TeamsIds.Platform, conversationId);
        if (incident.WarRooms.Contains(room))
        {
            return;
        }

        try
        {
            await service.LinkWarRoomAsync(incident.Number, room, new Actor(actor ?? new Person(TeamsIds.Platform, "incidentbot", "IncidentBot")), cancellationToken);
        }
        catch (IncidentRuleException)
        {
            // Fine when an earlier delivery of this event linked it; anything else is a real conflict.
            if ((await incidents.FindByWarRoomAsync(room, cancellationToken))?.Id != incident.Id)
            {
                throw;
            }
        }
    }

    private async Task PostOrUpdateCardAsync(Incident incident, string conversationId, CancellationToken cancellationToken)
    {
        var reference = await store.GetConversationAsync(conversationId, cancellationToken);
        if (reference is null)
        {
            LogNoReference(logger, incident.Number, conversationId);
            return;
        }

        var card = TeamsRenderer.Card(await cardSource.RenderAsync(incident, cancellationToken));
        var posted = await store.GetCardAsync(incident.Id, conversationId, cancellationToken);
        if (posted is not null)
        {
            // In an incident's own channel the card is the root of a thread, and Teams edits a post in its thread.
            var target = IsIncidentChannel(conversationId) ? $"{conversationId};messageid={posted.ActivityId}" : conversationId;
            await connector.UpdateAsync(reference.ServiceUrl, target, posted.ActivityId, card, cancellationToken);
            return;
        }

        var activityId = await connector.SendAsync(reference.ServiceUrl, conversationId, card, cancellationToken);
        if (activityId is not null)
        {
            await store.SaveCardAsync(new CardPost(incident.Id, conversationId, activityId), cancellationToken);
        }
    }

    private async Task AnnounceOnceAsync(IncidentEvent incidentEvent, string conversationId, Activity announcement, CancellationToken cancellationToken)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"{incidentEvent.IncidentId}:{incidentEvent.GetType().Name}:{incidentEvent.OccurredAt.UtcTicks}");
        if (await store.IsDeliveredAsync(key, conversationId, cancellationToken))
        {
            return;
        }

        var reference = await store.GetConversationAsync(conversationId, cancellationToken);
        if (reference is null)
        {
            LogNoReference(logger, incidentEvent.Number, conversationId);
            return;
        }

        await connector.SendAsync(reference.ServiceUrl, conversationId, announcement, cancellationToken);
        await store.RecordDeliveryAsync(key, conversationId, cancellationToken);
    }

    private static string? Announcement(IncidentEvent incidentEvent)
    {
        var who = incidentEvent.Actor?.DisplayName ?? "IncidentBot";
        var number = incidentEvent.Number;
        return incidentEvent switch
        {
            RoleAssigned r => r.Previous is null
                ? $"{number}: {r.Holder.DisplayName} is {r.Role.ToTitle()}."
                : $"{number}: {r.Previous.DisplayName} handed {r.Role.ToTitle()} to {r.Holder.DisplayName}.",
            SeverityChanged s => $"{number}: {who} changed severity from {s.From.ToLabel()} to {s.To.ToLabel()}.",
            StatusChanged s => $"{number}: {who} changed status from {s.From.ToToken()} to {s.To.ToToken()}.",
            UpdatePosted u => $"{number} status update from {who}: {u.Text}",
            IncidentAcknowledged { Pager: { } pager } => $"{number} acknowledged in {pager}{ByWhom(incidentEvent)}.",
            IncidentAcknowledged => $"{number} acknowledged by {who}.",
            IncidentResolved { Pager: { } pager } => $"{number} resolved in {pager}{ByWhom(incidentEvent)}.",
            IncidentResolved r => r.Summary is null ? $"{number} resolved by {who}." : $"{number} resolved by {who}: {r.Summary}",
            IncidentReopened => $"{number} reopened by {who}.",
            CommanderMissing => $"{number} has no incident commander yet. Take it with @IncidentBot role ic me.",
            IncidentEscalated { Level: 0 } e => $"{number}: paged {string.Join(", ", e.Targets)}: {e.Reason}",
            IncidentEscalated e => $"{number} escalated to level {e.Level} ({string.Join(", ", e.Targets)}): {e.Reason}",
            PageRequested p => $"{number}: {who} paged {p.Target?.DisplayName ?? (p.Level is { } l ? $"escalation level {l}" : "the escalation chain")}.",
            _ => null,
        };
    }

    private static string ByWhom(IncidentEvent incidentEvent) => incidentEvent.Actor is { } actor ? $" by {actor.DisplayName}" : "";

    private static string ThreadRoot(string threadId)
    {
        const string marker = ";messageid=";
        var at = threadId.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? threadId : threadId[(at + marker.Length)..];
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: opened the war-room thread {ThreadId} for {Number}")]
    private static partial void LogThreadOpened(ILogger logger, IncidentNumber number, string threadId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: opened the war-room channel {Name} for {Number} in team {TeamId}")]
    private static partial void LogChannelOpened(ILogger logger, IncidentNumber number, string name, string teamId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: the channel name {Name} for {Number} is taken in team {TeamId}; trying the next")]
    private static partial void LogNameTaken(ILogger logger, IncidentNumber number, string name, string teamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: the channel {Name} for {Number} in team {TeamId} was made by an earlier try; using it")]
    private static partial void LogChannelReused(ILogger logger, IncidentNumber number, string name, string teamId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no team recorded for the war-room channel {ChannelId} of {Number}, so it is not archived")]
    private static partial void LogNoTeam(ILogger logger, IncidentNumber number, string channelId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no conversation reference for {ConversationId}, so {Number} cannot be posted there")]
    private static partial void LogNoReference(ILogger logger, IncidentNumber number, string conversationId);
}
