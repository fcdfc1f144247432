using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.Outbound;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.Handlers;

/// <summary>The incident card's controls: role pickers, severity and status selects, update/ack/postmortem/resolve buttons.</summary>
public sealed partial class IncidentCardActions(
    CommandDispatcher dispatcher,
    ISlackApi slack,
    SlackUserDirectory users,
    PostmortemPublisher postmortems,
    ILogger<IncidentCardActions> logger) : IBlockActionHandler
{
    public bool Handles(string actionId) => actionId.StartsWith(SlackIds.ActionPrefix, StringComparison.Ordinal);

    public async Task<SlackMessage?> HandleAsync(BlockAction action, CancellationToken cancellationToken)
    {
        if (!TryReadNumber(action, out var number))
        {
            LogNoIncident(logger, action.ActionId, action.BlockId);
            return Ephemeral("That control does not name an incident.");
        }

        var actor = new Actor(users.Person(action.UserId, action.UserName), action.ChannelId is { } c ? new ChatSpace(SlackIds.Platform, c) : null);
        try
        {
            switch (action.ActionId)
            {
                case var id when id.StartsWith(SlackIds.RoleActionPrefix, StringComparison.Ordinal):
                    if (!IncidentRoleText.TryParse(id[SlackIds.RoleActionPrefix.Length..], out var role) || action.SelectedUser is null)
                    {
                        return Ephemeral("Pick a person for the role.");
                    }

                    var holder = users.Person(action.SelectedUser);
                    return await RunAsync(new AssignRoleCommand(role, "<@" + holder.UserId + ">") { Number = number }, actor, holder, cancellationToken);
                case SlackIds.SeverityAction when SeverityText.TryParse(action.SelectedOption, out var severity):
                    return await RunAsync(new ChangeSeverityCommand(severity) { Number = number }, actor, null, cancellationToken);
                case SlackIds.StatusAction when IncidentStatusText.TryParse(action.SelectedOption, out var status):
                    return await RunAsync(new ChangeStatusCommand(status) { Number = number }, actor, null, cancellationToken);
                case SlackIds.AcknowledgeAction:
                    return await RunAsync(new AcknowledgeCommand { Number = number }, actor, null, cancellationToken);
                case SlackIds.ResolveAction:
                    return await RunAsync(new ResolveCommand(null) { Number = number }, actor, null, cancellationToken);
                case SlackIds.PostmortemAction:
                    return await PostmortemAsync(number, action, actor, cancellationToken);
                case SlackIds.PostUpdateAction when action.TriggerId is not null:
                    await slack.OpenViewAsync(action.TriggerId, SlackRenderer.UpdateModal(number, action.ChannelId), cancellationToken);
                    return null;
                default:
                    return Ephemeral("I don't know that control.");
            }
        }
        catch (Exception ex) when (ex is SlackApiException or SlackRateLimitedException or SlackTransientException or HttpRequestException ||
            ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogFormFailed(logger, ex.Message);
            return Ephemeral($"I couldn't open the form; use `{SlackIds.CommandTrigger}update <text>` instead.");
        }
    }

    /// <summary>Through the dispatcher like a typed command, so the card obeys the same permissions; only a refusal or error answers.</summary>
    private async Task<SlackMessage?> RunAsync(ChatCommand command, Actor actor, Person? selected, CancellationToken cancellationToken)
    {
        var context = new CommandContext(actor, SlackIds.CommandTrigger, (_, _) => Task.FromResult(selected));
        var reply = await dispatcher.ExecuteAsync(command, context, cancellationToken);
        return reply.Kind is ReplyKind.Error or ReplyKind.Refused ? Ephemeral(SlackRenderer.Reply(reply, inWarRoom: false).Text) : null;
    }

    /// <summary>The card lives in a war room, so the draft goes there, like <c>/incident postmortem</c> typed in it.</summary>
    private async Task<SlackMessage?> PostmortemAsync(IncidentNumber number, BlockAction action, Actor actor, CancellationToken cancellationToken)
    {
        var context = new CommandContext(actor, SlackIds.CommandTrigger, (_, _) => Task.FromResult<Person?>(null));
        var reply = await dispatcher.ExecuteAsync(new ShowPostmortemCommand { Number = number }, context, cancellationToken);
        if (reply.Kind != ReplyKind.Postmortem || action.ChannelId is not { } channel)
        {
            return Ephemeral(reply.Kind == ReplyKind.Postmortem ? "Use this button on the incident card in its war room." : reply.Text);
        }

        postmortems.PublishLater(number, channel, reply.Text);
        return null;
    }

    private static bool TryReadNumber(BlockAction action, out IncidentNumber number)
    {
        if (IncidentNumber.TryParse(action.Value, out number))
        {
            return true;
        }

        // Selects carry no value of their own; their block_id is card:INC-42:<part>.
        var parts = action.BlockId.Split(':');
        return parts.Length >= 2 && parts[0] + ":" == SlackIds.CardBlockPrefix && IncidentNumber.TryParse(parts[1], out number);
    }

    private static SlackMessage Ephemeral(string text) => new(text) { ResponseType = "ephemeral", ReplaceOriginal = false };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Opening the update form failed: {Reason}")]
    private static partial void LogFormFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Block action {ActionId} in block {BlockId} names no incident")]
    private static partial void LogNoIncident(ILogger logger, string actionId, string blockId);
}

/// <summary>The declare modal: title, severity, description, commander and responders.</summary>
public sealed class DeclareViewHandler(IncidentService incidents, SlackUserDirectory users) : IViewSubmissionHandler
{
    public string CallbackId => SlackIds.DeclareView;

    public async Task<JsonObject?> HandleAsync(ViewSubmission submission, CancellationToken cancellationToken)
    {
        var title = submission.Text("title");
        if (string.IsNullOrWhiteSpace(title))
        {
            return Errors("title", "Give the incident a title.");
        }

        var severity = SeverityText.TryParse(submission.SelectedOption("severity"), out var s) ? s : Core.Commands.CommandDispatcher.DefaultSeverity;
        var isPrivate = submission.CheckedOptions(SlackRenderer.PrivateBlock).Contains(SlackRenderer.PrivateValue);
        var origin = submission.PrivateMetadata.Length > 0 ? new ChatSpace(SlackIds.Platform, submission.PrivateMetadata) : null;
        var request = new DeclareRequest(title, severity, submission.Text("description"))
        {
            Commander = submission.SelectedUser("commander") is { } ic ? users.Person(ic) : null,
            Responders = submission.SelectedUsers("responders").Select(id => users.Person(id)).ToList(),
            IsPrivate = isPrivate,
        };
        try
        {
            await incidents.DeclareAsync(request, new Actor(users.Person(submission.UserId, submission.UserName), origin), cancellationToken);
            return null;
        }
        catch (IncidentRuleException rule)
        {
            return Errors("title", rule.Message);
        }
    }

    internal static JsonObject Errors(string blockId, string message) => new()
    {
        ["response_action"] = "errors",
        ["errors"] = new JsonObject { [blockId] = BlockKit.Truncate(message, 150) },
    };
}

/// <summary>The "Post update" modal opened from the card or a reminder, posting as if typed in the channel it was opened from.</summary>
public sealed class UpdateViewHandler(CommandDispatcher dispatcher, SlackUserDirectory users) : IViewSubmissionHandler
{
    public string CallbackId => SlackIds.UpdateView;

    public async Task<JsonObject?> HandleAsync(ViewSubmission submission, CancellationToken cancellationToken)
    {
        var parts = submission.PrivateMetadata.Split(' ', 2);
        if (!IncidentNumber.TryParse(parts[0], out var number))
        {
            throw new SlackPayloadException("The update form lost its incident number.");
        }

        var origin = parts.Length == 2 ? new ChatSpace(SlackIds.Platform, parts[1]) : null;
        var context = new CommandContext(new Actor(users.Person(submission.UserId, submission.UserName), origin), SlackIds.CommandTrigger, (_, _) => Task.FromResult<Person?>(null));
        var reply = await dispatcher.ExecuteAsync(new PostUpdateCommand(submission.Text("update") ?? "") { Number = number }, context, cancellationToken);
        return reply.Kind is ReplyKind.Error or ReplyKind.Refused ? DeclareViewHandler.Errors("update", reply.Text) : null;
    }
}

/// <summary>Message shortcut "Add to incident timeline": pins the message explicitly, capturing it if needed.</summary>
public sealed class AddToTimelineShortcut(IncidentService incidents, SlackUserDirectory users) : IMessageShortcutHandler
{
    public string CallbackId => SlackIds.AddToTimelineShortcut;

    public async Task<SlackMessage?> HandleAsync(MessageShortcut shortcut, CancellationToken cancellationToken)
    {
        var source = new MessageRef(SlackIds.Platform, shortcut.ChannelId, shortcut.MessageTs);
        var content = SlackTs.TryParse(shortcut.MessageTs, out var postedAt)
            ? new CapturedMessage(source, users.Person(shortcut.MessageUser ?? shortcut.UserId), shortcut.MessageText, postedAt)
            : null;
        var actor = new Actor(users.Person(shortcut.UserId, shortcut.UserName), source.Space);
        var entry = await incidents.RecordPinAsync(source, pinned: true, content, actor, cancellationToken);
        return new SlackMessage(entry is null
            ? "This channel is not an incident war room; link it first with `/incident link INC-N`."
            : "Added to the incident timeline as a key event.")
        {
            ResponseType = "ephemeral",
        };
    }
}
