using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Graph;
using IncidentBot.Teams.Schema;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Outbound;

/// <summary>
/// Opens the war room of an incident declared from Teams: a new thread in <c>Teams:IncidentsChannelId</c>, a channel of its
/// own through Graph (<c>Teams:WarRoom</c> = <c>channel</c>), or the conversation it was declared in. The room is linked
/// the moment Teams answers, in the same step, and every step checks what an earlier delivery of the event already did.
/// </summary>
public sealed partial class WarRoomOpener(
    IIncidentStore incidents,
    IncidentService service,
    TeamsStore store,
    IChatDeliveries deliveries,
    ConnectorClient connector,
    IncidentCardSource cardSource,
    GraphClient graph,
    IOptions<TeamsOptions> options,
    ILogger<WarRoomOpener> logger)
{
    /// <summary>Opens (or finds) the war room; returns the conversations whose card is still to be posted or updated.</summary>
    public async Task<IReadOnlyList<ChatSpace>> OpenAsync(Incident incident, IncidentDeclared declared, ChatSpace origin, CancellationToken cancellationToken)
    {
        if (options.Value.WarRoom == WarRoomMode.Channel)
        {
            return await OpenChannelAsync(incident, declared, origin, cancellationToken);
        }

        var channelId = options.Value.IncidentsChannelId;
        if (string.IsNullOrWhiteSpace(channelId))
        {
            // The conversation it was declared in is the war room (linked by the declare itself).
            return [origin];
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
        await store.SaveNewConversationAsync(reference with
        {
            ConversationId = thread.ConversationId,
            ConversationType = "channel",
            ChannelId = channelId,
            MeetingId = null,
        }, cancellationToken);

        if (!cards.Any(c => c.ConversationId == thread.ConversationId))
        {
            await store.SaveCardAsync(thread, cancellationToken);
        }

        // Declared in a meeting chat: it is a war room too and gets its own card.
        return incident.WarRooms.Contains(origin) ? [origin] : [];
    }

    /// <summary>
    /// A standard channel of its own through Graph, in one of <c>Teams:WarRoomTeamIds</c> by turn, linked the moment Graph
    /// answers (nothing said there is lost), then the card as its first post. A refusal from Graph ends visibly: a
    /// timeline entry and a message where the incident was declared; throttling and outages are left to the outbox's retries.
    /// </summary>
    private async Task<IReadOnlyList<ChatSpace>> OpenChannelAsync(Incident incident, IncidentDeclared declared, ChatSpace origin, CancellationToken cancellationToken)
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
                return [];
            }

            channelId = channel.Id;
            LogChannelOpened(logger, incident.Number, channel.DisplayName, teamId);
            await EnsureLinkedAsync(incident, channelId, declared.Actor, cancellationToken);
        }

        await store.SaveNewConversationAsync(reference with
        {
            ConversationId = channelId,
            ConversationType = "channel",
            TeamId = teamId,
            ChannelId = channelId,
            MeetingId = null,
        }, cancellationToken);

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

        // Declared in a meeting chat: it is a war room too and gets its own card.
        return incident.WarRooms.Contains(origin) ? [origin] : [];
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
        await deliveries.OnceAsync(
            origin, DeliveryKey.For(declared, DeliveryKey.ReportFailure),
            () => connector.SendAsync(reference.ServiceUrl, origin.Channel, TeamsRenderer.Text(text), cancellationToken), cancellationToken);
    }

    /// <summary>A whole channel (<c>19:…@thread.tacv2</c> without <c>;messageid=</c>): only Graph-made incident channels are linked so.</summary>
    internal static bool IsIncidentChannel(string conversationId) =>
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
            await service.LinkOpenedWarRoomAsync(incident.Number, room, new Actor(actor ?? new Person(TeamsIds.Platform, "incidentbot", "IncidentBot")), cancellationToken);
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
}
