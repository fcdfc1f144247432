using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// The bot added to or removed from a team, chat or channel. The conversation itself is remembered by the dispatcher
/// (as for every activity), so proactive posts work from the first activity; this tells the operator where the app went.
/// </summary>
public sealed partial class ConversationUpdateHandler(ILogger<ConversationUpdateHandler> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.ConversationUpdate];

    public Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        var activity = turn.Activity;
        var botId = activity.Recipient?.Id;
        if (Includes(activity.MembersAdded, botId) || activity.Action is "add")
        {
            LogInstalled(logger, turn.ConversationId, activity.Conversation?.ConversationType);
        }
        else if (Includes(activity.MembersRemoved, botId) || activity.Action is "remove")
        {
            LogRemoved(logger, turn.ConversationId);
        }

        return Task.FromResult<InvokeResponse?>(null);
    }

    private static bool Includes(IReadOnlyList<ChannelAccount>? members, string? botId) =>
        botId is not null && members?.Any(m => string.Equals(m.Id, botId, StringComparison.OrdinalIgnoreCase)) == true;

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: the app was added to conversation {ConversationId} ({ConversationType})")]
    private static partial void LogInstalled(ILogger logger, string conversationId, string? conversationType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: the app was removed from conversation {ConversationId}")]
    private static partial void LogRemoved(ILogger logger, string conversationId);
}
