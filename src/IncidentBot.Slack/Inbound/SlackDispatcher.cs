using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Slack.State;
using IncidentBot.Slack.WebApi;
using IncidentBot.Storage;
using Microsoft.Extensions.Logging;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// Routes verified Slack payloads to the handlers. HTTP (<see cref="SlackHttpReceiver"/>) and Socket Mode
/// (<see cref="SocketMode.SocketModeService"/>) both come through here, so they behave the same: this is also where
/// a payload from a workspace that is not allowed is stopped (<see cref="SlackWorkspaces"/>), before it has any effect.
/// </summary>
public sealed partial class SlackDispatcher(
    IEnumerable<ISlashCommandHandler> commandHandlers,
    IEnumerable<ISlackEventHandler> eventHandlers,
    IEnumerable<IBlockActionHandler> actionHandlers,
    IEnumerable<IViewSubmissionHandler> viewHandlers,
    IEnumerable<IMessageShortcutHandler> shortcutHandlers,
    InboundReceipts receipts,
    SlackUserDirectory users,
    ISlackApi slack,
    AfterAcknowledgement afterAck,
    SlackWorkspaces workspaces,
    ILogger<SlackDispatcher> logger)
{
    private static readonly TimeSpan ResponseUrlTimeout = TimeSpan.FromSeconds(10);

    private readonly ISlashCommandHandler[] _commands = commandHandlers.ToArray();
    private readonly ISlackEventHandler[] _events = eventHandlers.ToArray();
    private readonly IBlockActionHandler[] _actions = actionHandlers.ToArray();
    private readonly IViewSubmissionHandler[] _views = viewHandlers.ToArray();
    private readonly IMessageShortcutHandler[] _shortcuts = shortcutHandlers.ToArray();

    /// <summary>Reads a slash command from its fields (form or Socket Mode payload).</summary>
    public static SlashCommand ReadCommand(Func<string, string?> field)
    {
        var command = field("command");
        var user = field("user_id");
        var channel = field("channel_id");
        if (string.IsNullOrEmpty(command) || string.IsNullOrEmpty(user) || string.IsNullOrEmpty(channel))
        {
            throw new SlackPayloadException("A slash command needs command, user_id and channel_id.");
        }

        return new SlashCommand(
            command, field("text") ?? "", user, field("user_name") ?? "", channel, SlackInstallation.FromCommand(field), field("trigger_id"), ReadUrl(field("response_url")));
    }

    public async Task<SlackMessage?> CommandAsync(SlashCommand command, CancellationToken cancellationToken)
    {
        await workspaces.AdmitAsync(command.Workspace, cancellationToken);
        users.Learn(command.UserId, command.UserName);
        var handler = _commands.FirstOrDefault(h => h.Command == command.Command);
        if (handler is null)
        {
            LogUnknown(logger, "command", command.Command);
            return new SlackMessage($"I don't handle {command.Command}.") { ResponseType = "ephemeral" };
        }

        try
        {
            return await handler.HandleAsync(command, cancellationToken);
        }
        catch (ConcurrencyConflictException ex)
        {
            LogConflict(logger, ex.Message);
            return Busy();
        }
    }

    /// <summary>An interactivity payload; returns the body to answer with (a <c>response_action</c>, options), or null.</summary>
    public async Task<JsonObject?> InteractionAsync(JsonElement payload, CancellationToken cancellationToken)
    {
        var type = Str(payload, "type") ?? throw new SlackPayloadException("The interaction payload has no type.");
        var (userId, userName) = ReadUser(payload);
        await workspaces.AdmitAsync(SlackInstallation.FromInteraction(payload), cancellationToken);
        users.Learn(userId, userName);
        switch (type)
        {
            case "block_actions":
                await BlockActionsAsync(payload, userId, userName, cancellationToken);
                return null;
            case "view_submission":
                var view = payload.TryGetProperty("view", out var v) && v.ValueKind == JsonValueKind.Object ? v : throw new SlackPayloadException("view_submission without a view.");
                var callbackId = Str(view, "callback_id") ?? "";
                var viewHandler = _views.FirstOrDefault(h => h.CallbackId == callbackId);
                if (viewHandler is null)
                {
                    LogUnknown(logger, "view", callbackId);
                    return null;
                }

                var values = view.TryGetProperty("state", out var s) && s.TryGetProperty("values", out var vals) ? vals : default;
                return await viewHandler.HandleAsync(new ViewSubmission(callbackId, userId, userName, Str(view, "private_metadata") ?? "", values), cancellationToken);
            case "message_action":
                var shortcutId = Str(payload, "callback_id") ?? "";
                var shortcutHandler = _shortcuts.FirstOrDefault(h => h.CallbackId == shortcutId);
                if (shortcutHandler is null)
                {
                    LogUnknown(logger, "shortcut", shortcutId);
                    return null;
                }

                var message = payload.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : throw new SlackPayloadException("message_action without a message.");
                var channel = payload.TryGetProperty("channel", out var c) ? Str(c, "id") : null;
                var ts = Str(message, "ts");
                if (channel is null || ts is null)
                {
                    throw new SlackPayloadException("message_action without channel or message ts.");
                }

                var reply = await shortcutHandler.HandleAsync(
                    new MessageShortcut(shortcutId, userId, userName, channel, ts, Str(message, "user"), Str(message, "text") ?? "", ReadUrl(Str(payload, "response_url"))),
                    cancellationToken);
                if (reply is not null)
                {
                    RespondLater(ReadUrl(Str(payload, "response_url")), userId, reply);
                }

                return null;
            case "block_suggestion":
                return new JsonObject { ["options"] = new JsonArray() };
            default:
                // view_closed, global shortcuts and types added later: acknowledged, nothing to do.
                LogUnknown(logger, "interaction", type);
                return null;
        }
    }

    /// <summary>An Events API <c>event_callback</c>: each <c>event_id</c> is handled once, however often Slack delivers it.</summary>
    public async Task EventCallbackAsync(JsonElement body, int retryAttempt, CancellationToken cancellationToken)
    {
        var eventId = Str(body, "event_id");
        if (string.IsNullOrEmpty(eventId) || !body.TryGetProperty("event", out var inner) || inner.ValueKind != JsonValueKind.Object || Str(inner, "type") is not { } type)
        {
            throw new SlackPayloadException("An event_callback needs event_id and an event with a type.");
        }

        await workspaces.AdmitAsync(SlackInstallation.FromEventCallback(body), cancellationToken);

        var bots = new HashSet<string>(StringComparer.Ordinal);
        if (body.TryGetProperty("authorizations", out var authorizations) && authorizations.ValueKind == JsonValueKind.Array)
        {
            foreach (var authorization in authorizations.EnumerateArray())
            {
                if (authorization.TryGetProperty("is_bot", out var isBot) && isBot.ValueKind == JsonValueKind.True && Str(authorization, "user_id") is { } bot)
                {
                    bots.Add(bot);
                }
            }
        }

        var slackEvent = new SlackEvent(eventId, type, inner, bots, retryAttempt);
        if (_events.All(h => h.StoresOnceByItself(slackEvent)))
        {
            // A war-room message: its capture dedupes on the message itself (channel and ts) in the insert, so a retry,
            // a Socket Mode redelivery or its app_mention twin stores nothing twice, with no receipt round trip.
            await HandleAsync(slackEvent, cancellationToken);
            return;
        }

        var receipt = new InboundReceipt(SlackTables.EventReceipts, eventId);
        if (await receipts.HasAsync(receipt, cancellationToken))
        {
            LogDuplicate(logger, eventId, retryAttempt);
            return;
        }

        await HandleAsync(slackEvent, cancellationToken);

        // Recorded after handling: a crash in between makes Slack's retry run the (idempotent) handlers again.
        await receipts.TryRecordAsync(receipt, cancellationToken);
    }

    private async Task HandleAsync(SlackEvent slackEvent, CancellationToken cancellationToken)
    {
        foreach (var handler in _events)
        {
            await handler.HandleAsync(slackEvent, cancellationToken);
        }
    }

    private async Task BlockActionsAsync(JsonElement payload, string userId, string userName, CancellationToken cancellationToken)
    {
        if (!payload.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array)
        {
            throw new SlackPayloadException("block_actions without actions.");
        }

        var channel = payload.TryGetProperty("channel", out var c) ? Str(c, "id") : null;
        var responseUrl = ReadUrl(Str(payload, "response_url"));
        foreach (var action in actions.EnumerateArray())
        {
            var actionId = Str(action, "action_id") ?? "";
            var handler = _actions.FirstOrDefault(h => h.Handles(actionId));
            if (handler is null)
            {
                LogUnknown(logger, "action", actionId);
                continue;
            }

            var selected = action.TryGetProperty("selected_option", out var option) && option.ValueKind == JsonValueKind.Object ? Str(option, "value") : null;
            SlackMessage? reply;
            try
            {
                reply = await handler.HandleAsync(
                    new BlockAction(actionId, Str(action, "block_id") ?? "", Str(action, "value"), Str(action, "selected_user"), selected,
                        userId, userName, channel, Str(payload, "trigger_id"), responseUrl),
                    cancellationToken);
            }
            catch (ConcurrencyConflictException ex)
            {
                LogConflict(logger, ex.Message);
                reply = Busy();
            }

            if (reply is not null)
            {
                RespondLater(responseUrl, userId, reply);
            }
        }
    }

    /// <summary>
    /// Answers through an interaction's <c>response_url</c> after the 200 went back. Only private notes to the user
    /// (errors, confirmations) go this way: anything that changed an incident is already stored.
    /// </summary>
    private void RespondLater(Uri? responseUrl, string userId, SlackMessage message)
    {
        if (responseUrl is not null)
        {
            afterAck.TryEnqueue("slack.response_url", userId, ResponseUrlTimeout, ct => slack.RespondAsync(responseUrl, message, ct));
        }
    }

    // The incident kept changing under us (many people acting at once); nothing was stored, so say so.
    private static SlackMessage Busy() =>
        new("That incident was changing at the same moment and your change was not applied; please try again.") { ResponseType = "ephemeral" };

    private static (string Id, string Name) ReadUser(JsonElement payload)
    {
        if (!payload.TryGetProperty("user", out var user) || Str(user, "id") is not { } id)
        {
            throw new SlackPayloadException("The interaction payload has no user.");
        }

        return (id, Str(user, "name") ?? Str(user, "username") ?? "");
    }

    private static Uri? ReadUrl(string? value) => Uri.TryCreate(value, UriKind.Absolute, out var url) ? url : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "No Slack handler for {Kind} {Id}; acknowledged")]
    private static partial void LogUnknown(ILogger logger, string kind, string id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gave up on a Slack request after repeated concurrent changes: {Reason}")]
    private static partial void LogConflict(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Slack event {EventId} already handled (retry {Retry})")]
    private static partial void LogDuplicate(ILogger logger, string eventId, int retry);
}
