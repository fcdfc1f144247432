using System.Text.RegularExpressions;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// <c>@IncidentBot …</c> (or anything in a personal chat): the shared grammar through <see cref="CommandDispatcher"/>;
/// <c>declare</c> alone answers with the declare form; <c>declare …</c> goes through <see cref="IncidentDeclarer"/>.
/// </summary>
public sealed partial class MentionCommandHandler(
    CommandDispatcher dispatcher,
    IIncidentStore store,
    IncidentDeclarer declarer,
    TeamsUserDirectory users,
    ReplySender replies,
    IncidentLinks links,
    ILogger<MentionCommandHandler> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.MentionCommand];

    public async Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        var parsed = CommandParser.Parse(turn.Message.Text, TeamsIds.Trigger);
        var answer = parsed.Command switch
        {
            null => TeamsRenderer.Reply(new CommandReply(ReplyKind.Error, parsed.Error ?? CommandGrammar.HelpText(TeamsIds.Trigger)), links),
            OpenDeclareFormCommand { Private: true } => TeamsRenderer.Card(IncidentCards.DeclareForm(DeclareFormValues.Empty with { Private = true })),
            // Nobody but the declarer is named in a command: when that is too few for a chat, the form asks for more people.
            DeclareCommand { Private: true } declare when declarer.PrivateRefusal(turn.From, null, []) == IncidentDeclarer.PrivateTooFewPeople =>
                TeamsRenderer.Card(IncidentCards.DeclareForm(
                    new DeclareFormValues(declare.Title, (declare.Severity ?? CommandDispatcher.DefaultSeverity).ToLabel(), null, null, []) { Private = true },
                    IncidentDeclarer.PrivateTooFewPeople)),
            _ => TeamsRenderer.Reply(await ReplyAsync(parsed.Command, turn, cancellationToken), links),
        };
        LogCommand(logger, turn.Activity.Id, parsed.Command?.GetType().Name ?? "error");
        replies.Answer(turn, answer);
        return null;
    }

    private async Task<CommandReply> ReplyAsync(ChatCommand command, TeamsTurn turn, CancellationToken cancellationToken) => command switch
    {
        DeclareCommand declare => await declarer.DeclareAsync(
            new DeclareRequest(declare.Title, declare.Severity ?? CommandDispatcher.DefaultSeverity) { IsPrivate = declare.Private }, turn, cancellationToken),
        MakePrivateCommand when await PrivateRefusalAsync(turn, cancellationToken) is { } refusal => new CommandReply(ReplyKind.Error, refusal),
        _ => await dispatcher.ExecuteAsync(command, Context(turn), cancellationToken),
    };

    /// <summary>
    /// <c>private</c> in a Teams war room of an incident declared from Teams opens a private chat for its declarer, role
    /// holders and the sender: refused before anything changes when that chat cannot be made.
    /// </summary>
    private async Task<string?> PrivateRefusalAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        if (await store.FindByWarRoomAsync(new ChatSpace(TeamsIds.Platform, turn.Room), cancellationToken) is not { IsPrivate: false } incident
            || incident.DeclaredBy.Platform != TeamsIds.Platform)
        {
            return null;
        }

        var refusal = declarer.PrivateRefusal(incident.DeclaredBy, turn.From, [.. incident.Roles.Values]);
        return refusal == IncidentDeclarer.PrivateTooFewPeople
            ? $"{incident.Number} cannot turn private yet: its private chat needs at least two people. Give someone a role first (@IncidentBot role ic @person), then type private again."
            : refusal;
    }

    private CommandContext Context(TeamsTurn turn) =>
        new(turn.Actor, TeamsIds.Trigger, (token, ct) => ResolveMentionAsync(token, turn, ct));

    /// <summary>Mentions arrive as Core mention tokens (<c>&lt;@id&gt;</c>, see <see cref="MessageText"/>).</summary>
    private async Task<Person?> ResolveMentionAsync(string token, TeamsTurn turn, CancellationToken cancellationToken)
    {
        var match = MentionToken().Match(token.Trim());
        if (!match.Success)
        {
            return null;
        }

        var id = match.Groups["id"].Value;
        turn.Message.Mentions.TryGetValue(id, out var mentioned);
        return await users.FindAsync(id, turn, mentioned, cancellationToken);
    }

    [GeneratedRegex(@"^<@(?<id>[^|>]+)(\|[^>]*)?>$")]
    private static partial Regex MentionToken();

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: command in activity {ActivityId}: {Command}")]
    private static partial void LogCommand(ILogger logger, string? activityId, string command);
}
