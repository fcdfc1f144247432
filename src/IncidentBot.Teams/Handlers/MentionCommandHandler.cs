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
        var reply = parsed.Command switch
        {
            null => new CommandReply(ReplyKind.Error, parsed.Error ?? CommandGrammar.HelpText(TeamsIds.Trigger)),
            DeclareCommand { Private: true } or OpenDeclareFormCommand { Private: true } or MakePrivateCommand => NoPrivateRooms,
            DeclareCommand declare => await declarer.DeclareAsync(
                new DeclareRequest(declare.Title, declare.Severity ?? CommandDispatcher.DefaultSeverity), turn, cancellationToken),
            _ => await dispatcher.ExecuteAsync(parsed.Command, Context(turn), cancellationToken),
        };
        LogCommand(logger, turn.Activity.Id, reply.Kind);
        replies.Answer(turn, TeamsRenderer.Reply(reply, links));
        return null;
    }

    /// <summary>
    /// A Teams war room is a thread of a team channel, a channel of its own or the conversation it was declared in, all seen
    /// beyond the people named; until private rooms exist here, refuse rather than leak.
    /// </summary>
    private static readonly CommandReply NoPrivateRooms =
        new(ReplyKind.Error, "Private incidents are not available in Teams yet: declare it from Slack (`/incident declare private …`).");

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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: command in activity {ActivityId}: {Kind}")]
    private static partial void LogCommand(ILogger logger, string? activityId, ReplyKind kind);
}
