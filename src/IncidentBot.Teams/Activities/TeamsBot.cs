using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Schema;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Activities;

/// <summary>
/// Routes authenticated activities to Core: @mention commands, card actions, timeline capture, pins,
/// meeting events. Returns the invoke response for invokes, null for everything else (HTTP 200).
/// </summary>
public sealed partial class TeamsBot(
    CommandDispatcher dispatcher,
    IncidentService incidents,
    IIncidentStore incidentStore,
    TeamsStore store,
    ConnectorClient connector,
    ReplySender replies,
    IncidentLinks links,
    IEscalationStateReader escalation,
    TimeProvider time,
    IOptions<TeamsOptions> options,
    ILogger<TeamsBot> logger)
{
    public const string Platform = "teams";
    public const string Trigger = "@IncidentBot ";
    public const string AddToTimelineCommandId = "addToTimeline";

    public async Task<InvokeResponse?> HandleAsync(Activity activity, CancellationToken cancellationToken)
    {
        if (activity.Conversation?.Id is not { Length: > 0 } conversationId || string.IsNullOrEmpty(activity.ServiceUrl))
        {
            // Nothing to reply to; accepted and ignored like any activity the bot has no use for.
            return activity.Type == ActivityTypes.Invoke ? NotImplemented() : null;
        }

        await RememberConversationAsync(activity, conversationId, cancellationToken);

        var dedupe = activity.Type is ActivityTypes.Message or ActivityTypes.Event && activity.Id is { Length: > 0 };
        if (dedupe && !await store.TryRecordActivityAsync(conversationId, activity.Id!, cancellationToken))
        {
            LogRedelivery(logger, activity.Type, activity.Id);
            return null;
        }

        try
        {
            var room = await RoomOfAsync(conversationId, cancellationToken);
            return activity.Type switch
            {
                ActivityTypes.Message => await OnMessageAsync(activity, room, cancellationToken),
                ActivityTypes.Invoke => await OnInvokeAsync(activity, room, cancellationToken),
                ActivityTypes.MessageReaction => await OnReactionAsync(activity, room, cancellationToken),
                ActivityTypes.MessageUpdate => await OnMessageUpdateAsync(activity, room, cancellationToken),
                ActivityTypes.MessageDelete => await OnMessageDeleteAsync(activity, room, cancellationToken),
                ActivityTypes.Event => await OnEventAsync(activity, room, cancellationToken),
                _ => null,
            };
        }
        catch when (dedupe)
        {
            // Not done: let Teams' redelivery try again.
            await store.ForgetActivityAsync(conversationId, activity.Id!, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Where an activity counts for incidents: in an incident's own channel every post and reply
    /// (<c>19:…@thread.tacv2;messageid=…</c>) belongs to the channel, which is the linked war room; elsewhere the conversation itself.
    /// Answers still go to the conversation the activity came from.
    /// </summary>
    private async Task<string> RoomOfAsync(string conversationId, CancellationToken cancellationToken)
    {
        var at = conversationId.IndexOf(";messageid=", StringComparison.Ordinal);
        if (at <= 0)
        {
            return conversationId;
        }

        var channel = conversationId[..at];
        return await incidentStore.FindByWarRoomAsync(new ChatSpace(Platform, channel), cancellationToken) is null ? conversationId : channel;
    }

    private async Task RememberConversationAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        if (activity.Recipient?.Id is not { Length: > 0 } botId)
        {
            return;
        }

        var channelData = TeamsChannelData.From(activity);
        await store.SaveConversationAsync(new ConversationReference(
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

    private async Task<InvokeResponse?> OnMessageAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        if (activity.Value is { ValueKind: JsonValueKind.Object } submitted && string.IsNullOrWhiteSpace(activity.Text))
        {
            // Action.Submit, the fallback of the card's Action.Execute buttons on older clients.
            var (reply, _) = await RunCardActionAsync(activity, conversationId, Read(submitted, "verb"), submitted, cancellationToken);
            Answer(activity, conversationId, Render(reply));
            return null;
        }

        var message = MessageText.From(activity);
        var personal = string.Equals(activity.Conversation?.ConversationType, "personal", StringComparison.OrdinalIgnoreCase);
        if (message.MentionsBot || personal)
        {
            var context = Context(activity, conversationId, message.Mentions);
            var result = await RunAsync(message.Text, context, conversationId, cancellationToken);
            Answer(activity, conversationId, Render(result));
            return null;
        }

        if (activity.From is null || string.IsNullOrWhiteSpace(message.Text) || activity.Id is null)
        {
            return null;
        }

        var captured = await incidents.CaptureMessageAsync(
            new CapturedMessage(new MessageRef(Platform, conversationId, activity.Id), PersonOf(activity.From), message.Text, activity.Timestamp ?? time.GetUtcNow()),
            cancellationToken);
        if (captured is not null)
        {
            LogCaptured(logger, captured.IncidentId, activity.Id);
        }

        return null;
    }

    /// <summary>Runs a command; when Core's own retries lost to a very busy incident, the user is asked to try again.</summary>
    private async Task<CommandReply> RunAsync(string text, CommandContext context, string conversationId, CancellationToken cancellationToken)
    {
        try
        {
            return await RunOnceAsync(text, context, conversationId, cancellationToken);
        }
        catch (ConcurrencyConflictException conflict)
        {
            LogConflict(logger, conflict.Message);
            return new CommandReply(ReplyKind.Error, "That incident is changing very fast right now; please try again in a moment.");
        }
    }

    /// <summary>Runs a command once; <c>declare</c> makes this conversation the war room unless a channel thread is configured.</summary>
    private async Task<CommandReply> RunOnceAsync(string text, CommandContext context, string conversationId, CancellationToken cancellationToken)
    {
        var parsed = CommandParser.Parse(text, Trigger);
        if (parsed.Command is null)
        {
            return new CommandReply(ReplyKind.Error, parsed.Error ?? CommandGrammar.HelpText(Trigger));
        }

        if (parsed.Command is DeclareCommand { Private: true } or OpenDeclareFormCommand { Private: true } or MakePrivateCommand)
        {
            // A Teams war room is a thread of a team channel or the conversation it was declared in, both seen beyond the
            // people named; until private rooms exist here (a private group chat), refuse rather than leak.
            return new CommandReply(ReplyKind.Error, "Private incidents are not available in Teams yet: declare it from Slack (`/incident declare private …`).");
        }

        if (parsed.Command is DeclareCommand declare && await DeclaresHereAsync(conversationId, cancellationToken))
        {
            try
            {
                var declared = await incidents.DeclareAsync(
                    new DeclareRequest(declare.Title, declare.Severity ?? CommandDispatcher.DefaultSeverity) { WarRoom = context.Actor.Origin },
                    context.Actor,
                    cancellationToken);
                return new CommandReply(ReplyKind.Declared, declared.Message) { Incident = declared.Incident };
            }
            catch (IncidentRuleException rule)
            {
                return new CommandReply(ReplyKind.Error, rule.Message);
            }
        }

        var reply = await dispatcher.ExecuteAsync(parsed.Command, context, cancellationToken);
        return reply.Kind == ReplyKind.Declared
            ? reply with
            {
                Text = reply.Text + (options.Value.WarRoom == WarRoomMode.Channel
                    ? " The war room opens as a new channel of its own."
                    : " The war room opens as a new thread in the incidents channel."),
            }
            : reply;
    }

    private async Task<bool> DeclaresHereAsync(string conversationId, CancellationToken cancellationToken)
    {
        if (options.Value.WarRoom == WarRoomMode.Thread && string.IsNullOrWhiteSpace(options.Value.IncidentsChannelId))
        {
            return true;
        }

        // A meeting chat becomes a war room too, beside the thread in the incidents channel or the incident's own channel.
        return (await store.GetConversationAsync(conversationId, cancellationToken))?.MeetingId is not null;
    }

    private CommandContext Context(Activity activity, string conversationId, IReadOnlyDictionary<string, ChannelAccount> mentions)
    {
        var actor = new Actor(PersonOf(activity.From), new ChatSpace(Platform, conversationId));
        return new CommandContext(actor, Trigger, (token, ct) => ResolveUserAsync(token, activity.ServiceUrl!, conversationId, mentions, ct));
    }

    private static readonly Regex MentionToken = new(@"^<@(?<id>[^|>]+)(\|[^>]*)?>$", RegexOptions.Compiled, TimeSpan.FromSeconds(1));

    /// <summary>Mentions and people-picker ids become Entra-object-id persons, as the sender is.</summary>
    private async Task<Person?> ResolveUserAsync(
        string token, string serviceUrl, string conversationId, IReadOnlyDictionary<string, ChannelAccount> mentions, CancellationToken cancellationToken)
    {
        var match = MentionToken.Match(token.Trim());
        if (!match.Success)
        {
            return null;
        }

        var id = match.Groups["id"].Value;
        mentions.TryGetValue(id, out var mentioned);
        TeamsMember? member = null;
        try
        {
            member = await connector.GetMemberAsync(serviceUrl, conversationId, id, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
        {
            LogMemberLookupFailed(logger, ex);
        }

        if (member is null && mentioned is null && !Guid.TryParse(id, out _))
        {
            return null;
        }

        return new Person(Platform, member?.AadObjectId ?? mentioned?.AadObjectId ?? id, member?.Name ?? mentioned?.Name ?? "");
    }

    private async Task<InvokeResponse?> OnInvokeAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        switch (activity.Name)
        {
            case "adaptiveCard/action":
                var action = activity.Value is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty("action", out var a) ? a : default;
                if (action.ValueKind != JsonValueKind.Object)
                {
                    return CardError(400, "BadRequest", "The invoke has no action.");
                }

                var data = action.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
                var verb = Read(action, "verb");
                var (reply, incident) = await RunCardActionAsync(activity, conversationId, verb, data, cancellationToken);
                if (reply.Kind == ReplyKind.Postmortem)
                {
                    // The links are for everyone in the conversation, not only for the person who clicked.
                    Answer(activity, conversationId, Render(reply));
                }

                var card = incident is null || reply.Kind == ReplyKind.Error ? null
                    : verb == CardVerbs.ReminderUpdate ? IncidentCards.ReminderAnswered(incident, PersonOf(activity.From).DisplayName)
                    : IncidentCards.Incident(incident, await escalation.ReadAsync(incident, cancellationToken));
                return card is not null
                    ? new InvokeResponse(200, new JsonObject { ["statusCode"] = 200, ["type"] = IncidentCards.ContentType, ["value"] = card })
                    : new InvokeResponse(200, new JsonObject { ["statusCode"] = 200, ["type"] = "application/vnd.microsoft.activity.message", ["value"] = reply.Text });
            case "composeExtension/submitAction":
            case "composeExtension/fetchTask":
                if (activity.Value is { ValueKind: JsonValueKind.Object } extension && Read(extension, "commandId") == AddToTimelineCommandId)
                {
                    var text = await PinFromMessageActionAsync(activity, conversationId, extension, cancellationToken);
                    return new InvokeResponse(200, new JsonObject { ["task"] = new JsonObject { ["type"] = "message", ["value"] = text } });
                }

                return NotImplemented();
            default:
                return NotImplemented();
        }
    }

    private async Task<(CommandReply Reply, Incident? Incident)> RunCardActionAsync(
        Activity activity, string conversationId, string? verb, JsonElement data, CancellationToken cancellationToken)
    {
        var number = Read(data, "incident") ?? "";
        if (verb == CardVerbs.Refresh)
        {
            return IncidentNumber.TryParse(number, out var n) && await incidentStore.GetAsync(n, cancellationToken) is { } current
                ? (new CommandReply(ReplyKind.Changed, ""), current)
                : (new CommandReply(ReplyKind.Error, "That incident does not exist."), null);
        }

        var command = verb switch
        {
            CardVerbs.Acknowledge => $"ack {number}",
            CardVerbs.Resolve => $"resolve {number} {Read(data, "summary")}",
            CardVerbs.Severity => $"sev {number} {Read(data, "severity")}",
            CardVerbs.Status => $"status {number} {Read(data, "status")}",
            CardVerbs.Update or CardVerbs.ReminderUpdate => $"update {number} {Read(data, "text")}",
            CardVerbs.AssignRole when Read(data, "user") is { Length: > 0 } user => $"role {number} {Read(data, "role")} <@{user.Split(',')[0].Trim()}>",
            CardVerbs.AssignRole => null,
            CardVerbs.Declare => $"declare {Read(data, "severity")} {Read(data, "title")}",
            CardVerbs.Postmortem => $"postmortem {number}",
            _ => null,
        };
        if (command is null)
        {
            return (new CommandReply(ReplyKind.Error, verb == CardVerbs.AssignRole ? "Pick a person for the role." : $"Unknown card action '{verb}'."), null);
        }

        var reply = await RunAsync(command, Context(activity, conversationId, new Dictionary<string, ChannelAccount>()), conversationId, cancellationToken);
        return (reply, reply.Incident);
    }

    private async Task<string> PinFromMessageActionAsync(Activity activity, string conversationId, JsonElement value, CancellationToken cancellationToken)
    {
        if (!value.TryGetProperty("messagePayload", out var payload) || Read(payload, "id") is not { Length: > 0 } messageId)
        {
            return "Use this action on a message.";
        }

        var source = new MessageRef(Platform, conversationId, messageId);
        var incident = await incidentStore.FindByWarRoomAsync(source.Space, cancellationToken);
        if (incident is null)
        {
            return "This conversation is not an incident war room; link it first with @IncidentBot link INC-42.";
        }

        var author = payload.TryGetProperty("from", out var from) && from.ValueKind == JsonValueKind.Object && from.TryGetProperty("user", out var user)
            ? new Person(Platform, Read(user, "aadObjectId") ?? Read(user, "id") ?? "unknown", Read(user, "displayName") ?? "")
            : PersonOf(activity.From);
        var text = payload.TryGetProperty("body", out var body) ? MessageText.Clean(Read(body, "content")) : "";
        var postedAt = DateTimeOffset.TryParse(Read(payload, "createdDateTime"), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : time.GetUtcNow();
        var content = string.IsNullOrWhiteSpace(text) ? null : new CapturedMessage(source, author, text, postedAt);
        var pinned = await incidents.SetPinnedAsync(source, pinned: true, content, cancellationToken);
        return pinned is null
            ? "That message has no text to add to the timeline."
            : $"Added to the {incident.Number} timeline as a key event.";
    }

    private async Task<InvokeResponse?> OnReactionAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        if (activity.ReplyToId is not { Length: > 0 } messageId)
        {
            return null;
        }

        var pins = options.Value.EffectivePinReactions;
        bool Pins(IReadOnlyList<MessageReaction>? reactions) =>
            reactions?.Any(r => pins.Contains(r.Type ?? "", StringComparer.OrdinalIgnoreCase)) == true;

        var source = new MessageRef(Platform, conversationId, messageId);
        if (Pins(activity.ReactionsAdded))
        {
            var entry = await incidents.SetPinnedAsync(source, pinned: true, content: null, cancellationToken);
            LogPinned(logger, messageId, entry is not null);
        }
        else if (Pins(activity.ReactionsRemoved))
        {
            await incidents.SetPinnedAsync(source, pinned: false, content: null, cancellationToken);
        }

        return null;
    }

    private async Task<InvokeResponse?> OnMessageUpdateAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        var eventType = TeamsChannelData.From(activity).EventType;
        if (activity.Id is { Length: > 0 } id && (eventType is null or "editMessage"))
        {
            var text = MessageText.From(activity).Text;
            if (!string.IsNullOrWhiteSpace(text))
            {
                await incidents.EditMessageAsync(new MessageRef(Platform, conversationId, id), text, cancellationToken);
            }
        }

        return null;
    }

    private async Task<InvokeResponse?> OnMessageDeleteAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        if (activity.Id is { Length: > 0 } id)
        {
            await incidents.DeleteMessageAsync(new MessageRef(Platform, conversationId, id), cancellationToken);
        }

        return null;
    }

    private async Task<InvokeResponse?> OnEventAsync(Activity activity, string conversationId, CancellationToken cancellationToken)
    {
        var value = activity.Value ?? default;
        var at = activity.Timestamp ?? time.GetUtcNow();
        var text = activity.Name switch
        {
            "application/vnd.microsoft.meetingStart" => $"Meeting started: {Read(value, "Title") ?? Read(value, "title") ?? "incident bridge"}",
            "application/vnd.microsoft.meetingEnd" => $"Meeting ended: {Read(value, "Title") ?? Read(value, "title") ?? "incident bridge"}",
            "application/vnd.microsoft.meetingParticipantJoin" => $"{Participants(value)} joined the meeting",
            "application/vnd.microsoft.meetingParticipantLeave" => $"{Participants(value)} left the meeting",
            _ => null,
        };
        if (text is null)
        {
            return null;
        }

        var result = await incidents.RecordMeetingEventAsync(new ChatSpace(Platform, conversationId), text, at, activity.From?.Id is null ? null : PersonOf(activity.From), cancellationToken);
        if (result is not null)
        {
            LogMeetingEvent(logger, result.Incident.Number, activity.Name!);
        }

        return null;
    }

    private static string Participants(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("members", out var members) || members.ValueKind != JsonValueKind.Array)
        {
            return "Someone";
        }

        var names = members.EnumerateArray()
            .Select(m => m.TryGetProperty("user", out var u) ? Read(u, "name") ?? Read(u, "id") : null)
            .Where(n => !string.IsNullOrWhiteSpace(n))
            .ToList();
        return names.Count == 0 ? "Someone" : string.Join(", ", names);
    }

    /// <summary>Answers in the conversation the activity came from (not the war room it counts for).</summary>
    private void Answer(Activity activity, string room, Activity answer) =>
        replies.Enqueue(new PendingReply(activity.ServiceUrl!, activity.Conversation?.Id ?? room, activity.Id, answer));

    private Activity Render(CommandReply reply) => reply.Kind switch
    {
        ReplyKind.Postmortem when reply.Incident is { } incident && links.IncidentPage(incident.Number) is { } page =>
            TextActivity($"📝 **Postmortem draft for {incident.Number}**: [open it on the dashboard]({page.AbsoluteUri})" +
                (links.PostmortemMarkdown(incident.Number) is { } markdown ? $" · [Markdown]({markdown.AbsoluteUri})" : "")),
        ReplyKind.DeclareForm => CardActivity(IncidentCards.DeclareForm()),
        ReplyKind.Timeline => TextActivity(reply.Text + "\n" + string.Join('\n', reply.Timeline.Select(e =>
            $"{e.OccurredAt.UtcDateTime:HH:mm} {(e.Pinned ? "📌 " : "")}{e.Kind.ToToken()} — {e.Author?.DisplayName ?? "IncidentBot"}: {e.Text}"))),
        ReplyKind.List => TextActivity(reply.Text + "\n" + string.Join('\n', reply.Incidents.Select(i =>
            $"{i.Number} {i.Severity.ToLabel()} {i.Status.ToToken()}: {i.Title}"))),
        _ => TextActivity(reply.Text),
    };

    /// <summary>A plain message; long answers are cut well below Teams' message size limit.</summary>
    public static Activity TextActivity(string text)
    {
        const int maxChars = 20_000;
        var body = text.Length <= maxChars ? text : string.Concat(text.AsSpan(0, maxChars - 1), "…");
        return new Activity { Type = ActivityTypes.Message, TextFormat = "markdown", Text = body.Replace("\n", "\n\n", StringComparison.Ordinal) };
    }

    public static Activity CardActivity(JsonObject card) =>
        new() { Type = ActivityTypes.Message, Attachments = [new Attachment(IncidentCards.ContentType, card)] };

    public static Person PersonOf(ChannelAccount? account) =>
        new(Platform, account?.AadObjectId ?? account?.Id ?? "unknown", account?.Name ?? "");

    private static InvokeResponse NotImplemented() => new(501, null);

    private static InvokeResponse CardError(int status, string code, string message) =>
        new(200, new JsonObject
        {
            ["statusCode"] = status,
            ["type"] = "application/vnd.microsoft.error",
            ["value"] = new JsonObject { ["code"] = code, ["message"] = message },
        });

    private static string? Read(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: {Type} activity {ActivityId} was already processed; ignoring the redelivery")]
    private static partial void LogRedelivery(ILogger logger, string? type, string? activityId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: captured message {ActivityId} for incident {IncidentId}")]
    private static partial void LogCaptured(ILogger logger, long incidentId, string activityId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: pin reaction on {MessageId} (timeline entry found: {Found})")]
    private static partial void LogPinned(ILogger logger, string messageId, bool found);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: {Number} meeting event {Name}")]
    private static partial void LogMeetingEvent(ILogger logger, IncidentNumber number, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: {Conflict}; the user was asked to retry")]
    private static partial void LogConflict(ILogger logger, string conflict);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: member lookup failed; using the mention as given")]
    private static partial void LogMemberLookupFailed(ILogger logger, Exception exception);
}
