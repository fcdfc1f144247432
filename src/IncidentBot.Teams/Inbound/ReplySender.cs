using IncidentBot.Core.Application;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Schema;

namespace IncidentBot.Teams.Inbound;

/// <summary>
/// Sends command answers after the HTTP 200 went back, so a throttled connector never holds up Teams. What a
/// command changed is already stored (and the war rooms are told through the outbox); an answer lost in a crash
/// is only the confirmation line.
/// </summary>
public sealed class ReplySender(ConnectorClient connector, AfterAcknowledgement afterAck)
{
    /// <summary>Room for the connector's pacing and a Retry-After wait or two; a later answer only confuses.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>Answers in the conversation the activity came from (not the war room it counts for), in its thread.</summary>
    public void Answer(TeamsTurn turn, Activity answer)
    {
        var (serviceUrl, conversationId, replyTo) = (turn.ServiceUrl, turn.ConversationId, turn.Activity.Id);
        afterAck.TryEnqueue("teams.answer", conversationId, Timeout, ct => replyTo is { Length: > 0 }
            ? connector.ReplyAsync(serviceUrl, conversationId, replyTo, answer, ct)
            : connector.SendAsync(serviceUrl, conversationId, answer, ct));
    }
}
