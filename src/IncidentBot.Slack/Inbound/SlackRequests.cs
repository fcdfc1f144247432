using System.Text.Json;
using IncidentBot.Slack.WebApi;

namespace IncidentBot.Slack.Inbound;

/// <summary>A slash command, from the HTTP form or a Socket Mode <c>slash_commands</c> envelope.</summary>
public sealed record SlashCommand(string Command, string Text, string UserId, string UserName, string ChannelId, SlackInstallation? Workspace, string? TriggerId, Uri? ResponseUrl);

/// <summary>One inner event of an <c>event_callback</c>; <see cref="BotUserIds"/> are our own users, whose messages are ignored.</summary>
public sealed record SlackEvent(string EventId, string Type, JsonElement Event, IReadOnlySet<string> BotUserIds, int RetryAttempt);

/// <summary>One action of a <c>block_actions</c> payload.</summary>
public sealed record BlockAction(
    string ActionId, string BlockId, string? Value, string? SelectedUser, string? SelectedOption,
    string UserId, string UserName, string? ChannelId, string? TriggerId, Uri? ResponseUrl);

/// <summary>A submitted modal; <see cref="Values"/> is <c>view.state.values</c>.</summary>
public sealed record ViewSubmission(string CallbackId, string UserId, string UserName, string PrivateMetadata, JsonElement Values)
{
    public string? Text(string blockId) => Element(blockId) is { } e && e.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public string? SelectedOption(string blockId) =>
        Element(blockId) is { } e && e.TryGetProperty("selected_option", out var o) && o.ValueKind == JsonValueKind.Object ? SlackApiClient.Str(o, "value") : null;

    public string? SelectedUser(string blockId) => Element(blockId) is { } e ? SlackApiClient.Str(e, "selected_user") : null;

    public IReadOnlyList<string> SelectedUsers(string blockId) =>
        Element(blockId) is { } e && e.TryGetProperty("selected_users", out var users) && users.ValueKind == JsonValueKind.Array
            ? users.EnumerateArray().Where(u => u.ValueKind == JsonValueKind.String).Select(u => u.GetString()!).ToList()
            : [];

    /// <summary>The values of the checked boxes of a <c>checkboxes</c> element.</summary>
    public IReadOnlyList<string> CheckedOptions(string blockId) =>
        Element(blockId) is { } e && e.TryGetProperty("selected_options", out var options) && options.ValueKind == JsonValueKind.Array
            ? options.EnumerateArray().Where(o => o.ValueKind == JsonValueKind.Object).Select(o => SlackApiClient.Str(o, "value")).OfType<string>().ToList()
            : [];

    private JsonElement? Element(string blockId) =>
        Values.ValueKind == JsonValueKind.Object && Values.TryGetProperty(blockId, out var block) && block.TryGetProperty("value", out var element) ? element : null;
}

/// <summary>A message shortcut on one message.</summary>
public sealed record MessageShortcut(string CallbackId, string UserId, string UserName, string ChannelId, string MessageTs, string? MessageUser, string MessageText, Uri? ResponseUrl);

/// <summary>The request could not be read: answered 400 (HTTP) or logged (Socket Mode).</summary>
public sealed class SlackPayloadException(string message) : Exception(message);

/// <summary>Handles <c>/incident</c> (one handler per command).</summary>
public interface ISlashCommandHandler
{
    string Command { get; }

    /// <summary>The answer shown to the user, or null for an empty 200.</summary>
    Task<SlackMessage?> HandleAsync(SlashCommand command, CancellationToken cancellationToken);
}

/// <summary>Handles Events API events, each <c>event_id</c> once (see <see cref="StoresOnceByItself"/>).</summary>
public interface ISlackEventHandler
{
    /// <summary>
    /// Whether handling this event stores its effect once however often it comes, by a unique key of its own in the
    /// same statement (a captured message: its channel and ts). When every handler says so, the dispatcher keeps no
    /// <c>event_id</c> receipt for it: one inbound message is one statement.
    /// </summary>
    bool StoresOnceByItself(SlackEvent slackEvent) => false;

    Task HandleAsync(SlackEvent slackEvent, CancellationToken cancellationToken);
}

/// <summary>Handles block actions whose action_id it claims.</summary>
public interface IBlockActionHandler
{
    bool Handles(string actionId);

    /// <summary>A message for the user (posted to the response_url), or null.</summary>
    Task<SlackMessage?> HandleAsync(BlockAction action, CancellationToken cancellationToken);
}

/// <summary>Handles a modal's submission by callback_id.</summary>
public interface IViewSubmissionHandler
{
    string CallbackId { get; }

    /// <summary>A <c>response_action</c> body (e.g. errors), or null to close the modal.</summary>
    Task<System.Text.Json.Nodes.JsonObject?> HandleAsync(ViewSubmission submission, CancellationToken cancellationToken);
}

/// <summary>Handles a message shortcut by callback_id.</summary>
public interface IMessageShortcutHandler
{
    string CallbackId { get; }

    Task<SlackMessage?> HandleAsync(MessageShortcut shortcut, CancellationToken cancellationToken);
}
