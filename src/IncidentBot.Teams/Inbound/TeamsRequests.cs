using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Schema;

namespace IncidentBot.Teams.Inbound;

/// <summary>What an activity asks of the bot; each kind has exactly one handler.</summary>
public enum TeamsActivityKind
{
    /// <summary>A message that @mentions the bot, or any message in a personal chat.</summary>
    MentionCommand,

    /// <summary>An Adaptive Card button: invoke <c>adaptiveCard/action</c>, or its Action.Submit fallback (a message with a value).</summary>
    CardAction,

    /// <summary>A message in a conversation, edited or deleted: the war-room timeline follows it.</summary>
    MessageCapture,

    /// <summary>A pin reaction, or the "Add to incident timeline" message action.</summary>
    Pin,

    /// <summary>Meeting start/end and participant join/leave events.</summary>
    MeetingEvent,

    /// <summary>The bot added to or removed from a team, chat or channel.</summary>
    ConversationUpdate,
}

/// <summary>One authenticated activity on its way to its handler.</summary>
/// <param name="Activity">The activity as Teams sent it; answers go to its conversation.</param>
/// <param name="Kind">Which handler it is for.</param>
/// <param name="Room">The conversation it counts for: an incident channel for a post in one of its threads, else the conversation itself.</param>
/// <param name="Message">The message text with the bot's mention removed (empty for activities without text).</param>
public sealed record TeamsTurn(Activity Activity, TeamsActivityKind Kind, string Room, MessageText Message)
{
    public string ConversationId => Activity.Conversation!.Id!;

    public string ServiceUrl => Activity.ServiceUrl!;

    public bool IsInvoke => Activity.Type == ActivityTypes.Invoke;

    public Person From => TeamsUserDirectory.PersonOf(Activity.From);

    /// <summary>The sender, acting in <see cref="Room"/>.</summary>
    public Core.Application.Actor Actor => new(From, new ChatSpace(TeamsIds.Platform, Room));
}

/// <summary>Handles the activities of its <see cref="Kinds"/> (one handler per kind, checked at start-up).</summary>
public interface ITeamsActivityHandler
{
    IReadOnlyCollection<TeamsActivityKind> Kinds { get; }

    /// <summary>The invoke response for invokes; null for everything else (HTTP 200).</summary>
    Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken);
}
