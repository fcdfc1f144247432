using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// The cards' buttons (invoke <c>adaptiveCard/action</c>, or Action.Submit on older clients): each read into a typed
/// <see cref="CardAction"/> and done through a typed <see cref="IncidentService"/> method. An invoke is answered with the
/// card as it now is (for the person who clicked; the outbox updates it for everyone) or with a message saying what was wrong.
/// </summary>
public sealed partial class IncidentCardActions(
    IncidentService incidents,
    IIncidentStore store,
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
                ? form is not null ? InvokeResponses.Card(form) : await CardOfAsync(declared, cardOverride: null, cancellationToken)
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

    private async Task<CommandReply> RunAsync(CardAction action, TeamsTurn turn, CancellationToken cancellationToken)
    {
        var actor = turn.Actor;
        try
        {
            return action switch
            {
                CardAction.Acknowledge ack => Changed(await incidents.AcknowledgeAsync(ack.Incident, actor, cancellationToken)),
                CardAction.Resolve resolve => Changed(await incidents.ResolveAsync(resolve.Incident, resolve.Summary, actor, cancellationToken)),
                CardAction.SetSeverity sev => Changed(await incidents.ChangeSeverityAsync(sev.Incident, sev.Severity, actor, cancellationToken)),
                CardAction.SetStatus status => Changed(await incidents.ChangeStatusAsync(status.Incident, status.Status, actor, cancellationToken)),
                CardAction.PostUpdate update => Changed(await incidents.PostUpdateAsync(update.Incident, update.Text, actor, cancellationToken)),
                CardAction.AssignRole role => await users.FindAsync(role.UserId, turn, null, cancellationToken) is { } holder
                    ? Changed(await incidents.AssignRoleAsync(role.Incident, role.Role, holder, actor, cancellationToken))
                    : new CommandReply(ReplyKind.Error, "I can't find the person picked for the role."),
                CardAction.ShowPostmortem postmortem => await dispatcher.ExecuteAsync(
                    new ShowPostmortemCommand { Number = postmortem.Incident },
                    new CommandContext(actor, TeamsIds.Trigger, (_, _) => Task.FromResult<Person?>(null)),
                    cancellationToken),
                CardAction.Refresh refresh => await store.GetAsync(refresh.Incident, cancellationToken) is { } current
                    ? new CommandReply(ReplyKind.Changed, "") { Incident = current }
                    : new CommandReply(ReplyKind.Error, "That incident does not exist."),
                _ => throw new InvalidOperationException($"No handler for card action {action.GetType().Name}."),
            };
        }
        catch (IncidentRuleException rule)
        {
            return new CommandReply(ReplyKind.Error, rule.Message);
        }
    }

    /// <summary>The invoke answer: the card as it now is, or the message when nothing changed.</summary>
    private async Task<InvokeResponse> CardOfAsync(CommandReply reply, JsonObject? cardOverride, CancellationToken cancellationToken)
    {
        if (reply.Kind == ReplyKind.Error || reply.Incident is not { } incident)
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

    private static CommandReply Changed(IncidentResult result) => new(ReplyKind.Changed, result.Message) { Incident = result.Incident };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: card action in activity {ActivityId} refused: {Reason}")]
    private static partial void LogBadPayload(ILogger logger, string? activityId, string reason);
}
