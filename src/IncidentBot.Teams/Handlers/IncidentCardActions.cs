using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// The cards' buttons (invoke <c>adaptiveCard/action</c>, or Action.Submit on older clients): each read into a typed
/// <see cref="CardAction"/> and run as its typed command through the <see cref="CommandDispatcher"/>. An invoke is answered with the
/// card as it now is (for the person who clicked; the outbox updates it for everyone) or with a message saying what was wrong.
/// </summary>
public sealed partial class IncidentCardActions(
    IIncidentStore store,
    IncidentAccess access,
    CommandDispatcher dispatcher,
    IncidentDeclarer declarer,
    TeamsUserDirectory users,
    ReplySender replies,
    IncidentLinks links,
    IncidentCardSource cards,
    ILogger<IncidentCardActions> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.CardAction];

    public async Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        var value = turn.Activity.Value ?? default;
        JsonElement source = value, data = value;
        if (turn.IsInvoke)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("action", out source) || source.ValueKind != JsonValueKind.Object)
            {
                LogBadPayload(logger, turn.Activity.Id, "the invoke has no action");
                return InvokeResponses.Error(400, "BadRequest", "The invoke has no action.");
            }

            // Action.Execute sends the verb beside its data (the inputs merged in); Action.Submit sends only the data, with our own "verb".
            data = source.TryGetProperty("data", out var d) ? d : default;
        }

        var verb = JsonFields.Str(source, "verb");
        if (!CardAction.TryRead(verb, data, out var action, out var error))
        {
            LogBadPayload(logger, turn.Activity.Id, error);
            return Respond(turn, new CommandReply(ReplyKind.Error, error));
        }

        if (action is CardAction.Declare declare)
        {
            var (declared, form) = await declarer.SubmitFormAsync(declare.Values, turn, cancellationToken);
            // A declaration is announced by the declarer; only what went wrong is answered here.
            return turn.IsInvoke
                ? form is not null ? InvokeResponses.Card(form)
                    : declared.Incident is { IsPrivate: true } ? InvokeResponses.Card(IncidentCards.PrivateDeclared(declared.Text))
                    : await CardOfAsync(declared, cardOverride: null, cancellationToken)
                : Respond(turn, declared.Kind == ReplyKind.Error ? declared : null);
        }

        var reply = await RunAsync(action!, turn, cancellationToken);
        if (!turn.IsInvoke)
        {
            return Respond(turn, reply);
        }

        if (reply.Kind == ReplyKind.Postmortem)
        {
            // The links are for everyone in the conversation, not only for the person who clicked.
            replies.Answer(turn, TeamsRenderer.Reply(reply, links));
        }

        var reminderAnswered = action is CardAction.PostUpdate { FromReminder: true } && reply is { Kind: ReplyKind.Changed, Incident: { } updated }
            ? IncidentCards.ReminderAnswered(updated, turn.From.DisplayName)
            : null;
        return await CardOfAsync(reply, reminderAnswered, cancellationToken);
    }

    /// <summary>
    /// Each button as its typed command through the dispatcher, so a card obeys the same permissions as typed text
    /// (changes only in the war room, role-holder rules, private incidents); a refresh is a read under the same rules.
    /// </summary>
    private async Task<CommandReply> RunAsync(CardAction action, TeamsTurn turn, CancellationToken cancellationToken)
    {
        var actor = turn.Actor;
        Person? picked = null;
        if (action is CardAction.AssignRole role && (picked = await users.FindAsync(role.UserId, turn, null, cancellationToken)) is null)
        {
            return new CommandReply(ReplyKind.Error, "I can't find the person picked for the role.");
        }

        if (action is CardAction.Refresh refresh)
        {
            return await RefreshAsync(refresh.Incident, actor, cancellationToken);
        }

        ChatCommand command = action switch
        {
            CardAction.Acknowledge ack => new AcknowledgeCommand { Number = ack.Incident },
            CardAction.Resolve resolve => new ResolveCommand(resolve.Summary) { Number = resolve.Incident },
            CardAction.SetSeverity sev => new ChangeSeverityCommand(sev.Severity) { Number = sev.Incident },
            CardAction.SetStatus status => new ChangeStatusCommand(status.Status) { Number = status.Incident },
            CardAction.PostUpdate update => new PostUpdateCommand(update.Text) { Number = update.Incident },
            CardAction.AssignRole assign => new AssignRoleCommand(assign.Role, assign.UserId) { Number = assign.Incident },
            CardAction.ShowPostmortem postmortem => new ShowPostmortemCommand { Number = postmortem.Incident },
            _ => throw new InvalidOperationException($"No handler for card action {action.GetType().Name}."),
        };
        var context = new CommandContext(actor, TeamsIds.Trigger, (_, _) => Task.FromResult(picked));
        return await dispatcher.ExecuteAsync(command, context, cancellationToken);
    }

    private async Task<CommandReply> RefreshAsync(IncidentNumber number, Actor actor, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(number, cancellationToken) is not { } current)
        {
            return new CommandReply(ReplyKind.Error, "That incident does not exist.");
        }

        try
        {
            await access.EnsureAllowedAsync("card", IncidentAction.Read, current, actor, cancellationToken);
            return new CommandReply(ReplyKind.Changed, "") { Incident = current };
        }
        catch (AccessRefusedException refused)
        {
            return new CommandReply(ReplyKind.Refused, refused.Message);
        }
    }

    /// <summary>The invoke answer: the card as it now is, or the message when nothing changed.</summary>
    private async Task<InvokeResponse> CardOfAsync(CommandReply reply, JsonObject? cardOverride, CancellationToken cancellationToken)
    {
        if (reply.Kind is ReplyKind.Error or ReplyKind.Refused || reply.Incident is not { } incident)
        {
            return InvokeResponses.Message(reply.Text);
        }

        return InvokeResponses.Card(cardOverride ?? await cards.RenderAsync(incident, cancellationToken));
    }

    /// <summary>An invoke gets the message as its response; an Action.Submit (a message activity) is answered in the conversation.</summary>
    private InvokeResponse? Respond(TeamsTurn turn, CommandReply? reply)
    {
        if (turn.IsInvoke)
        {
            return InvokeResponses.Message(reply?.Text ?? "");
        }

        if (reply is not null)
        {
            replies.Answer(turn, TeamsRenderer.Reply(reply, links));
        }

        return null;
    }


    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: card action in activity {ActivityId} refused: {Reason}")]
    private static partial void LogBadPayload(ILogger logger, string? activityId, string reason);
}
