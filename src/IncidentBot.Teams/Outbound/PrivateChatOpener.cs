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

namespace IncidentBot.Teams.Outbound;

/// <summary>
/// A private incident's Teams war room: a group chat made through Graph (<c>POST /chats</c>, topic <c>inc-N</c> without the
/// title, the people named as owners), linked the moment Graph answers, the app installed into it so the Bot Connector may
/// post there, and a conversation reference kept for it. Graph makes a new chat on every call, so the chat is marked in the
/// delivery ledger as soon as it is linked and a redelivery carries on with it. A refusal from Graph ends visibly (a
/// timeline entry and a line without the title where it was asked for); an outage is said once there and left to the
/// outbox's retries.
/// </summary>
public sealed partial class PrivateChatOpener(
    IIncidentStore incidents,
    IncidentService service,
    TeamsStore store,
    IChatDeliveries deliveries,
    ConnectorClient connector,
    GraphClient graph,
    IOptions<TeamsOptions> options,
    ILogger<PrivateChatOpener> logger)
{
    /// <summary>
    /// The Entra ids a private chat is made for: the Teams people among <paramref name="people"/> (Bot Connector ids are not
    /// Entra ids and are left out), and <c>Teams:PrivateChatFallbackMemberId</c> when that leaves one person.
    /// </summary>
    public static IReadOnlyList<string> MemberIds(IEnumerable<Person?> people, TeamsOptions settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var ids = people.OfType<Person>()
            .Where(p => p.Platform == TeamsIds.Platform && !IsConnectorId(p.UserId))
            .Select(p => p.UserId)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (ids.Count < 2 && !string.IsNullOrWhiteSpace(settings.PrivateChatFallbackMemberId)
            && !ids.Contains(settings.PrivateChatFallbackMemberId, StringComparer.OrdinalIgnoreCase))
        {
            ids.Add(settings.PrivateChatFallbackMemberId);
        }

        return ids;
    }

    /// <summary>A group chat has at least two people.</summary>
    public const int MinimumMembers = 2;

    /// <summary>The chat's topic, seen by its members only but still without the title: <c>inc-42</c>.</summary>
    public static string Topic(IncidentNumber number) => ChannelNames.For(number, "");

    /// <summary>
    /// Opens (or finds) the private chat of <paramref name="incident"/> for <paramref name="people"/>, asked for by
    /// <paramref name="trigger"/> in <paramref name="origin"/>; null when it cannot be made (reported).
    /// </summary>
    public async Task<ChatSpace?> OpenAsync(Incident incident, IncidentEvent trigger, IEnumerable<Person?> people, ChatSpace? origin, CancellationToken cancellationToken)
    {
        var reference = await ReferenceAsync(incident, origin, cancellationToken);
        if (reference is null)
        {
            LogNoReference(logger, incident.Number);
            return null;
        }

        var chat = await FindAsync(incident, cancellationToken);
        if (chat is null)
        {
            var members = MemberIds(people, options.Value);
            if (!options.Value.HasPrivateChats || members.Count < MinimumMembers)
            {
                var why = !options.Value.HasPrivateChats
                    ? $"Microsoft Graph is not configured for private chats (set {TeamsOptions.PrivateChatKeys})."
                    : "a group chat needs two people and only one was named (give someone a role, or set Teams:PrivateChatFallbackMemberId).";
                await ReportAsync(incident, trigger, origin, reference, $"Could not open the private chat of {incident.Number}: {why}", cancellationToken);
                return null;
            }

            GraphChat created;
            try
            {
                created = await graph.CreateGroupChatAsync(Topic(incident.Number), members, cancellationToken);
            }
            catch (GraphException ex)
            {
                await FailedAsync(incident, trigger, origin, reference, ex, "create", cancellationToken);
                if (ex.IsTransient)
                {
                    throw;
                }

                return null;
            }

            chat = new ChatSpace(TeamsIds.Platform, created.Id);
            LogChatOpened(logger, incident.Number, created.Id, members.Count);
            await LinkAsync(incident, chat, trigger.Actor, cancellationToken);
            await deliveries.RecordAsync(chat, ChatKey(incident), cancellationToken);
        }

        await store.SaveNewConversationAsync(reference with
        {
            ConversationId = chat.Channel,
            ConversationType = "groupChat",
            TeamId = null,
            ChannelId = null,
            MeetingId = null,
        }, cancellationToken);

        var installed = InstalledKey(incident);
        if (!await deliveries.WasMadeAsync(chat, installed, cancellationToken))
        {
            try
            {
                await graph.InstallAppInChatAsync(chat.Channel, options.Value.AppCatalogId, TeamsIds.ResourceSpecificPermissions, cancellationToken);
            }
            catch (GraphException ex)
            {
                await FailedAsync(incident, trigger, origin, reference, ex, "install", cancellationToken);
                if (ex.IsTransient)
                {
                    throw;
                }

                return null;
            }

            await deliveries.RecordAsync(chat, installed, cancellationToken);
        }

        return chat;
    }

    /// <summary>The chat an earlier delivery made (marked in the ledger right after it was linked).</summary>
    private async Task<ChatSpace?> FindAsync(Incident incident, CancellationToken cancellationToken)
    {
        foreach (var room in incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform))
        {
            if (await deliveries.WasMadeAsync(room, ChatKey(incident), cancellationToken))
            {
                return room;
            }
        }

        return null;
    }

    /// <summary>Where the request came from when that is a Teams conversation, else any Teams room of the incident.</summary>
    private async Task<ConversationReference?> ReferenceAsync(Incident incident, ChatSpace? origin, CancellationToken cancellationToken)
    {
        var candidates = incident.WarRooms.Where(r => r.Platform == TeamsIds.Platform).Select(r => r.Channel);
        if (origin is { Platform: TeamsIds.Platform })
        {
            candidates = candidates.Prepend(origin.Channel);
        }

        foreach (var conversation in candidates)
        {
            if (await store.GetConversationAsync(conversation, cancellationToken) is { } reference)
            {
                return reference;
            }
        }

        return null;
    }

    private async Task LinkAsync(Incident incident, ChatSpace chat, Person? actor, CancellationToken cancellationToken)
    {
        try
        {
            await service.LinkOpenedWarRoomAsync(incident.Number, chat, new Actor(actor ?? incident.DeclaredBy), cancellationToken);
        }
        catch (IncidentRuleException)
        {
            // Linked by an earlier delivery whose mark was lost; a chat of another incident is a real conflict.
            if ((await incidents.FindByWarRoomAsync(chat, cancellationToken))?.Id != incident.Id)
            {
                throw;
            }
        }
    }

    /// <summary>An outage is said once (the caller rethrows it for the outbox); a refusal is reported for good.</summary>
    private async Task FailedAsync(
        Incident incident, IncidentEvent trigger, ChatSpace? origin, ConversationReference reference, GraphException ex, string step, CancellationToken cancellationToken)
    {
        if (ex.IsTransient)
        {
            // Said once; the outbox tries again, and the chat is made when Graph is back.
            var text = $"Microsoft Graph is not answering ({ex.Status.ToString(CultureInfo.InvariantCulture)} {ex.Code}), so the private chat of {incident.Number} is not open yet; it is retried.";
            if (origin is { Platform: TeamsIds.Platform } here)
            {
                await deliveries.OnceAsync(
                    here, DeliveryKey.For(trigger, "private-chat-delayed"),
                    () => connector.SendAsync(reference.ServiceUrl, here.Channel, TeamsRenderer.Text(text), cancellationToken), cancellationToken);
            }

            return;
        }

        var hint = ex.Status switch
        {
            401 or 400 when ex.Code == "TokenRequestFailed" => " Check Teams:AppId, Teams:AppPassword and Teams:TenantId.",
            403 when step == "create" => " The app needs the Graph application permission Chat.Create (admin consent).",
            403 => " The app needs the Graph application permission TeamsAppInstallation.ReadWriteAndConsentSelfForChat.All (admin consent).",
            404 when step == "install" => " Check Teams:AppCatalogId (the app's id in your app catalog).",
            _ => "",
        };
        var what = step == "create" ? "open the private chat" : "install the app into the private chat";
        await ReportAsync(incident, trigger, origin, reference,
            $"Could not {what} of {incident.Number}: Microsoft Graph answered {ex.Status.ToString(CultureInfo.InvariantCulture)} {ex.Code}.{hint}", cancellationToken);
    }

    /// <summary>A failure for good: on the timeline, and said (without the title) where it was asked for.</summary>
    private async Task ReportAsync(Incident incident, IncidentEvent trigger, ChatSpace? origin, ConversationReference reference, string text, CancellationToken cancellationToken)
    {
        LogFailed(logger, incident.Number, text);
        await service.RecordWarRoomAsync(incident.Number, text, cancellationToken);
        if (origin is { Platform: TeamsIds.Platform } here)
        {
            await deliveries.OnceAsync(
                here, DeliveryKey.For(trigger, DeliveryKey.ReportFailure),
                () => connector.SendAsync(reference.ServiceUrl, here.Channel, TeamsRenderer.Text(text), cancellationToken), cancellationToken);
        }
    }

    private static string ChatKey(Incident incident) => string.Create(CultureInfo.InvariantCulture, $"{incident.Id}:private-chat");

    private static string InstalledKey(Incident incident) => string.Create(CultureInfo.InvariantCulture, $"{incident.Id}:private-chat:installed");

    /// <summary>Bot Connector ids (<c>29:</c> users, <c>28:</c> bots, <c>8:</c> others): Graph knows people by Entra id.</summary>
    private static bool IsConnectorId(string id) =>
        id.StartsWith("29:", StringComparison.Ordinal) || id.StartsWith("28:", StringComparison.Ordinal) || id.StartsWith("8:", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: opened the private chat {ChatId} of {Number} for {Members} people")]
    private static partial void LogChatOpened(ILogger logger, IncidentNumber number, string chatId, int members);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: the private chat of {Number}: {Reason}")]
    private static partial void LogFailed(ILogger logger, IncidentNumber number, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: no conversation reference to reach Teams for the private chat of {Number}")]
    private static partial void LogNoReference(ILogger logger, IncidentNumber number);
}
