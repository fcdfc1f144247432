using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Schema;
using IncidentBot.Storage;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Inbound;

/// <summary>
/// Routes authenticated activities to the handler of their kind (<see cref="TeamsActivityKind"/>): remembers the
/// conversation for proactive posts, handles each message and event activity once however often Teams redelivers it,
/// and works out which conversation an activity counts for. Returns the invoke response for invokes, null otherwise.
/// </summary>
public sealed partial class TeamsDispatcher
{
    private readonly Dictionary<TeamsActivityKind, ITeamsActivityHandler> _handlers;
    private readonly IIncidentStore _incidents;
    private readonly TeamsStore _store;
    private readonly InboundReceipts _receipts;
    private readonly ReplySender _replies;
    private readonly ILogger<TeamsDispatcher> _logger;

    public TeamsDispatcher(IEnumerable<ITeamsActivityHandler> handlers, IIncidentStore incidents, TeamsStore store, InboundReceipts receipts, ReplySender replies, ILogger<TeamsDispatcher> logger)
    {
        _handlers = [];
        foreach (var handler in handlers)
        {
            foreach (var kind in handler.Kinds)
            {
                if (!_handlers.TryAdd(kind, handler))
                {
                    throw new InvalidOperationException($"Two Teams handlers for {kind}: {_handlers[kind].GetType().Name} and {handler.GetType().Name}.");
                }
            }
        }

        _incidents = incidents;
        _store = store;
        _receipts = receipts;
        _replies = replies;
        _logger = logger;
    }

    public async Task<InvokeResponse?> HandleAsync(Activity activity, CancellationToken cancellationToken)
    {
        if (activity.Conversation?.Id is not { Length: > 0 } conversationId || string.IsNullOrEmpty(activity.ServiceUrl))
        {
            // Nothing to reply to; accepted and ignored like any activity the bot has no use for.
            return activity.Type == ActivityTypes.Invoke ? InvokeResponses.NotImplemented : null;
        }

        await RememberConversationAsync(activity, conversationId, cancellationToken);

        var message = activity.Type == ActivityTypes.Message ? MessageText.From(activity) : MessageText.None;
        var kind = KindOf(activity, message);

        // A message that is only talk is captured once per conversation and activity id by the insert itself, so it
        // needs no receipt (one statement per message); commands, card submits and events do.
        var talk = activity.Type == ActivityTypes.Message && kind == TeamsActivityKind.MessageCapture;
        var dedupe = activity.Type is ActivityTypes.Message or ActivityTypes.Event && activity.Id is { Length: > 0 } && !talk;
        var receipt = InboundReceipt.Of(TeamsTables.ActivityReceipts, conversationId, activity.Id ?? "");
        if (dedupe && !await _receipts.TryRecordAsync(receipt, cancellationToken))
        {
            LogRedelivery(_logger, activity.Type, activity.Id);
            return null;
        }

        try
        {
            if (kind is null || !_handlers.TryGetValue(kind.Value, out var handler))
            {
                return activity.Type == ActivityTypes.Invoke ? InvokeResponses.NotImplemented : null;
            }

            var turn = new TeamsTurn(activity, kind.Value, await RoomOfAsync(conversationId, cancellationToken), message);
            try
            {
                return await handler.HandleAsync(turn, cancellationToken);
            }
            catch (ConcurrencyConflictException conflict) when (kind is TeamsActivityKind.MentionCommand or TeamsActivityKind.CardAction)
            {
                // Core's own retries lost to a very busy incident: nothing was stored, so the user is asked to try again.
                LogConflict(_logger, conflict.Message);
                const string busy = "That incident is changing very fast right now; please try again in a moment.";
                if (turn.IsInvoke)
                {
                    return InvokeResponses.Message(busy);
                }

                _replies.Answer(turn, TeamsRenderer.Text(busy));
                return null;
            }
        }
        catch when (dedupe)
        {
            // Not done: let Teams' redelivery try again.
            await _receipts.ForgetAsync(receipt, CancellationToken.None);
            throw;
        }
    }

    private static TeamsActivityKind? KindOf(Activity activity, MessageText message) => activity.Type switch
    {
        // Action.Submit, the fallback of the card's Action.Execute buttons on older clients.
        ActivityTypes.Message when activity.Value is { ValueKind: JsonValueKind.Object } && string.IsNullOrWhiteSpace(activity.Text) => TeamsActivityKind.CardAction,
        ActivityTypes.Message when message.MentionsBot || string.Equals(activity.Conversation?.ConversationType, "personal", StringComparison.OrdinalIgnoreCase) =>
            TeamsActivityKind.MentionCommand,
        ActivityTypes.Message or ActivityTypes.MessageUpdate or ActivityTypes.MessageDelete => TeamsActivityKind.MessageCapture,
        ActivityTypes.Invoke when activity.Name == TeamsIds.CardActionInvoke => TeamsActivityKind.CardAction,
        ActivityTypes.Invoke when activity.Name is TeamsIds.MessageActionSubmitInvoke or TeamsIds.MessageActionFetchInvoke => TeamsActivityKind.Pin,
        ActivityTypes.MessageReaction => TeamsActivityKind.Pin,
        ActivityTypes.Event => TeamsActivityKind.MeetingEvent,
        ActivityTypes.ConversationUpdate or ActivityTypes.InstallationUpdate => TeamsActivityKind.ConversationUpdate,
        _ => null,
    };

    /// <summary>
    /// Where an activity counts for incidents: in an incident's own channel every post and reply
    /// (<c>19:…@thread.tacv2;messageid=…</c>) belongs to the channel, which is the linked war room; elsewhere the conversation itself.
    /// Answers still go to the conversation the activity came from.
    /// </summary>
    private async Task<string> RoomOfAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (TeamsIds.ChannelOfThread(conversationId) is not { } channel)
        {
            return conversationId;
        }

        return await _incidents.FindByWarRoomAsync(new ChatSpace(TeamsIds.Platform, channel), cancellationToken) is null ? conversationId : channel;
    }

    private async Task RememberConversationAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        if (activity.Recipient?.Id is not { Length: > 0 } botId)
        {
            return;
        }

        var channelData = TeamsChannelData.From(activity);
        await _store.SaveConversationAsync(new ConversationReference(
            conversationId,
            activity.ServiceUrl!,
            channelData.TenantId,
            activity.Conversation?.ConversationType,
            channelData.TeamId,
            channelData.ChannelId,
            channelData.MeetingId,
            botId,
            activity.Recipient.Name), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: {Type} activity {ActivityId} was already processed; ignoring the redelivery")]
    private static partial void LogRedelivery(ILogger logger, string? type, string? activityId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: {Conflict}; the user was asked to retry")]
    private static partial void LogConflict(ILogger logger, string conflict);
}
