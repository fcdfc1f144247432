using System.Text.RegularExpressions;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.Outbound;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.Handlers;

/// <summary>
/// <c>/incident …</c>: the shared grammar through <see cref="CommandDispatcher"/>; <c>declare</c> alone opens the
/// modal; <c>postmortem</c> in a war room posts the draft there for everyone.
/// </summary>
public sealed partial class IncidentCommandHandler(
    CommandDispatcher dispatcher,
    IIncidentStore store,
    ISlackApi slack,
    SlackUserDirectory users,
    IncidentLinks links,
    PostmortemPublisher postmortems,
    ILogger<IncidentCommandHandler> logger) : ISlashCommandHandler
{
    public string Command => SlackIds.Command;

    public async Task<SlackMessage?> HandleAsync(SlashCommand command, CancellationToken cancellationToken)
    {
        var room = new ChatSpace(SlackIds.Platform, command.ChannelId);
        var actor = new Actor(users.Person(command.UserId, command.UserName), room);
        var parsed = CommandParser.Parse(command.Text, SlackIds.CommandTrigger);
        if (parsed.Command is OpenDeclareFormCommand form)
        {
            return await OpenDeclareFormAsync(command, form.Private, cancellationToken);
        }

        var context = new CommandContext(actor, SlackIds.CommandTrigger, (token, _) => Task.FromResult(ResolveUser(token)));
        var reply = await dispatcher.ExecuteAsync(command.Text, context, cancellationToken);
        var inWarRoom = reply.Incident is { } incident && incident.WarRooms.Contains(room);
        if (reply.Kind == ReplyKind.Changed && reply.Incident is not null && !inWarRoom)
        {
            // The incident may have been named explicitly from its own war room, linked after the reply was built.
            inWarRoom = (await store.FindByWarRoomAsync(room, cancellationToken))?.Id == reply.Incident.Id;
        }

        LogCommand(logger, command.UserId, command.ChannelId, reply.Kind);
        if (reply is { Kind: ReplyKind.Postmortem, Incident: { } subject })
        {
            if (inWarRoom)
            {
                // Posted by the bot rather than as the command's answer, so the file can follow in its thread.
                postmortems.PublishLater(subject.Number, command.ChannelId, reply.Text);
                return null;
            }

            return SlackRenderer.Postmortem(subject.Number, links.IncidentPage(subject.Number), links.PostmortemMarkdown(subject.Number), reply.Text) with
            {
                ResponseType = "ephemeral",
            };
        }

        return SlackRenderer.Reply(reply, inWarRoom);
    }

    /// <summary><c>&lt;@U123&gt;</c> or <c>&lt;@U123|name&gt;</c>; plain <c>@name</c> cannot be resolved without a directory lookup.</summary>
    public Person? ResolveUser(string token)
    {
        var match = MentionPattern().Match(token.Trim());
        return match.Success ? users.Person(match.Groups["id"].Value, match.Groups["name"].Success ? match.Groups["name"].Value : null) : null;
    }

    private async Task<SlackMessage?> OpenDeclareFormAsync(SlashCommand command, bool isPrivate, CancellationToken cancellationToken)
    {
        if (command.TriggerId is null)
        {
            return new SlackMessage($"Give a title: `{SlackIds.CommandTrigger}declare [private] [sev1-4] <title>`.") { ResponseType = "ephemeral" };
        }

        try
        {
            // trigger_id expires 3 s after the user typed the command, so this call cannot wait for the outbox.
            await slack.OpenViewAsync(command.TriggerId, SlackRenderer.DeclareModal(command.ChannelId, isPrivate), cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is SlackApiException or SlackRateLimitedException or SlackTransientException or HttpRequestException ||
            ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogModalFailed(logger, ex.Message);
            return new SlackMessage($"I couldn't open the form; declare with `{SlackIds.CommandTrigger}declare [private] [sev1-4] <title>` instead.") { ResponseType = "ephemeral" };
        }
    }

    [GeneratedRegex(@"^<@(?<id>[UW][A-Z0-9]+)(\|(?<name>[^>]*))?>$")]
    private static partial Regex MentionPattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "/incident from {User} in {Channel}: {Kind}")]
    private static partial void LogCommand(ILogger logger, string user, string channel, ReplyKind kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Opening the declare modal failed: {Reason}")]
    private static partial void LogModalFailed(ILogger logger, string reason);
}
