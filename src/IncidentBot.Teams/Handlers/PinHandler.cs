using System.Globalization;
using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// Key events: a pin reaction (<c>Teams:PinReactions</c>) pins the message in the timeline, removing it unpins; the
/// "Add to incident timeline" message action pins any message, capturing it first if the bot never saw it.
/// </summary>
public sealed partial class PinHandler(
    IncidentService incidents, IIncidentStore store, TimeProvider time, IOptions<TeamsOptions> options, ILogger<PinHandler> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.Pin];

    public async Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        if (!turn.IsInvoke)
        {
            await ReactionAsync(turn, cancellationToken);
            return null;
        }

        var value = turn.Activity.Value ?? default;
        return JsonFields.Str(value, "commandId") == TeamsIds.AddToTimelineCommandId
            ? InvokeResponses.TaskMessage(await MessageActionAsync(turn, value, cancellationToken))
            : InvokeResponses.NotImplemented;
    }

    private async Task ReactionAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        if (turn.Activity.ReplyToId is not { Length: > 0 } messageId)
        {
            return;
        }

        var pins = options.Value.EffectivePinReactions;
        bool Pins(IReadOnlyList<MessageReaction>? reactions) =>
            reactions?.Any(r => pins.Contains(r.Type ?? "", StringComparer.OrdinalIgnoreCase)) == true;

        var source = new MessageRef(TeamsIds.Platform, turn.Room, messageId);
        if (Pins(turn.Activity.ReactionsAdded))
        {
            var entry = await incidents.SetPinnedAsync(source, pinned: true, content: null, cancellationToken);
            LogPinned(logger, messageId, entry is not null);
        }
        else if (Pins(turn.Activity.ReactionsRemoved))
        {
            await incidents.SetPinnedAsync(source, pinned: false, content: null, cancellationToken);
        }
    }

    private async Task<string> MessageActionAsync(TeamsTurn turn, JsonElement value, CancellationToken cancellationToken)
    {
        if (!value.TryGetProperty("messagePayload", out var payload) || JsonFields.Str(payload, "id") is not { Length: > 0 } messageId)
        {
            return "Use this action on a message.";
        }

        var source = new MessageRef(TeamsIds.Platform, turn.Room, messageId);
        var incident = await store.FindByWarRoomAsync(source.Space, cancellationToken);
        if (incident is null)
        {
            return $"This conversation is not an incident war room; link it first with {TeamsIds.Trigger}link INC-42.";
        }

        var author = payload.TryGetProperty("from", out var from) && from.ValueKind == JsonValueKind.Object && from.TryGetProperty("user", out var user)
            ? new Person(TeamsIds.Platform, JsonFields.Str(user, "aadObjectId") ?? JsonFields.Str(user, "id") ?? "unknown", JsonFields.Str(user, "displayName") ?? "")
            : turn.From;
        var text = payload.TryGetProperty("body", out var body) ? MessageText.Clean(JsonFields.Str(body, "content")) : "";
        var postedAt = DateTimeOffset.TryParse(JsonFields.Str(payload, "createdDateTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : time.GetUtcNow();
        var content = string.IsNullOrWhiteSpace(text) ? null : new CapturedMessage(source, author, text, postedAt);
        var pinned = await incidents.SetPinnedAsync(source, pinned: true, content, cancellationToken);
        return pinned is null
            ? "That message has no text to add to the timeline."
            : $"Added to the {incident.Number} timeline as a key event.";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: pin reaction on {MessageId} (timeline entry found: {Found})")]
    private static partial void LogPinned(ILogger logger, string messageId, bool found);
}
