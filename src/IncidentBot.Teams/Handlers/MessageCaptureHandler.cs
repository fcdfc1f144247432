using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// Records war-room conversation in the timeline: people's messages (no mention needed), their edits and deletes.
/// Each is one <see cref="IncidentService"/> call, done before the 200; messages outside war rooms are ignored there.
/// </summary>
public sealed partial class MessageCaptureHandler(IncidentService incidents, TimeProvider time, ILogger<MessageCaptureHandler> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.MessageCapture];

    public async Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        var activity = turn.Activity;
        switch (activity.Type)
        {
            case ActivityTypes.Message when activity is { From: not null, Id: { Length: > 0 } id } && !string.IsNullOrWhiteSpace(turn.Message.Text):
                var captured = await incidents.CaptureMessageAsync(
                    new CapturedMessage(Source(turn, id), turn.From, turn.Message.Text, activity.Timestamp ?? time.GetUtcNow()), cancellationToken);
                if (captured is not null)
                {
                    LogCaptured(logger, captured.IncidentId, id);
                }

                break;
            case ActivityTypes.MessageUpdate when activity.Id is { Length: > 0 } id && TeamsChannelData.From(activity).EventType is null or "editMessage":
                var text = MessageText.From(activity).Text;
                if (!string.IsNullOrWhiteSpace(text))
                {
                    await incidents.EditMessageAsync(Source(turn, id), text, cancellationToken);
                }

                break;
            case ActivityTypes.MessageDelete when activity.Id is { Length: > 0 } id:
                await incidents.DeleteMessageAsync(Source(turn, id), cancellationToken);
                break;
        }

        return null;
    }

    private static MessageRef Source(TeamsTurn turn, string messageId) => new(TeamsIds.Platform, turn.Room, messageId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: captured message {ActivityId} for incident {IncidentId}")]
    private static partial void LogCaptured(ILogger logger, long incidentId, string activityId);
}
