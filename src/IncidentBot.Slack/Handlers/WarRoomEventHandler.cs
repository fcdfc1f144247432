using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Inbound;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Handlers;

/// <summary>
/// Records war-room conversation in the timeline: human messages (thread replies and file shares too),
/// edits, deletes, and pin reactions. Everything here is one database write, done before the ack.
/// </summary>
public sealed partial class WarRoomEventHandler(
    IncidentService incidents,
    SlackUserDirectory users,
    IOptions<SlackOptions> options,
    ILogger<WarRoomEventHandler> logger) : ISlackEventHandler
{
    /// <summary>A new message is captured once per channel and ts (or ignored); edits, deletes and pins need the receipt.</summary>
    public bool StoresOnceByItself(SlackEvent slackEvent) =>
        slackEvent.Type is "message" or "app_mention" && Str(slackEvent.Event, "subtype") is not ("message_changed" or "message_deleted");

    public async Task HandleAsync(SlackEvent slackEvent, CancellationToken cancellationToken)
    {
        var e = slackEvent.Event;
        switch (slackEvent.Type)
        {
            case "message":
            case "app_mention":
                await MessageAsync(slackEvent, e, cancellationToken);
                break;
            case "reaction_added":
            case "reaction_removed":
                await ReactionAsync(slackEvent, e, slackEvent.Type == "reaction_added", cancellationToken);
                break;
        }
    }

    private async Task MessageAsync(SlackEvent slackEvent, JsonElement e, CancellationToken cancellationToken)
    {
        var channel = Str(e, "channel");
        if (channel is null)
        {
            return;
        }

        switch (Str(e, "subtype"))
        {
            case "message_changed" when e.TryGetProperty("message", out var edited) && Str(edited, "ts") is { } editedTs:
                var before = e.TryGetProperty("previous_message", out var previous) ? Str(previous, "text") : null;
                var after = SlackMessages.TextOf(edited);
                // Slack also sends message_changed when a thread gets a reply or a link unfurls; only a new text is an edit.
                if (before != after && !SlackMessages.IsBot(edited, Str(edited, "user"), slackEvent.BotUserIds))
                {
                    await incidents.EditMessageAsync(new MessageRef(SlackIds.Platform, channel, editedTs), after, cancellationToken);
                }

                break;
            case "message_deleted" when Str(e, "deleted_ts") is { } deletedTs:
                await incidents.DeleteMessageAsync(new MessageRef(SlackIds.Platform, channel, deletedTs), cancellationToken);
                break;
            default:
                if (!SlackMessages.IsPersonTalking(e, slackEvent.BotUserIds, out var user, out var ts) || !SlackTs.TryParse(ts, out var postedAt))
                {
                    return;
                }

                var source = new MessageRef(SlackIds.Platform, channel, ts);
                var captured = await incidents.CaptureMessageAsync(new CapturedMessage(source, users.Person(user), SlackMessages.TextOf(e), postedAt), cancellationToken);
                if (captured is not null)
                {
                    LogCaptured(logger, channel, ts);
                }

                break;
        }
    }

    private async Task ReactionAsync(SlackEvent slackEvent, JsonElement e, bool added, CancellationToken cancellationToken)
    {
        var reaction = Str(e, "reaction");
        var user = Str(e, "user");
        if (reaction is null || user is null || slackEvent.BotUserIds.Contains(user) ||
            !options.Value.PinReactions.Contains(reaction, StringComparer.Ordinal) ||
            !e.TryGetProperty("item", out var item) || Str(item, "type") != "message" ||
            Str(item, "channel") is not { } channel || Str(item, "ts") is not { } ts)
        {
            return;
        }

        var actor = new Actor(users.Person(user), new ChatSpace(SlackIds.Platform, channel));
        var entry = await incidents.RecordPinAsync(new MessageRef(SlackIds.Platform, channel, ts), added, content: null, actor, cancellationToken);
        LogPin(logger, added ? "pinned" : "unpinned", channel, ts, entry is not null);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Captured message {Ts} in {Channel}")]
    private static partial void LogCaptured(ILogger logger, string channel, string ts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {Ts} in {Channel} {Action} (captured: {Known})")]
    private static partial void LogPin(ILogger logger, string action, string channel, string ts, bool known);
}
