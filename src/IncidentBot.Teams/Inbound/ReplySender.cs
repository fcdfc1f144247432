using System.Threading.Channels;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Inbound;

/// <summary>An answer to a command, sent after the activity was acknowledged.</summary>
public sealed record PendingReply(string ServiceUrl, string ConversationId, string? ReplyToId, Activity Activity);

/// <summary>
/// Sends command answers after the HTTP 200 went back, so a throttled connector never holds up Teams. What a
/// command changed is already stored (and the war rooms are told through the outbox); an answer lost in a crash
/// is only the confirmation line.
/// </summary>
public sealed partial class ReplySender(ConnectorClient connector, ILogger<ReplySender> logger) : BackgroundService
{
    private readonly Channel<PendingReply> _queue = Channel.CreateBounded<PendingReply>(new BoundedChannelOptions(1000)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    /// <summary>Answers in the conversation the activity came from (not the war room it counts for).</summary>
    public void Answer(TeamsTurn turn, Activity answer) =>
        Enqueue(new PendingReply(turn.ServiceUrl, turn.ConversationId, turn.Activity.Id, answer));

    private void Enqueue(PendingReply reply)
    {
        if (!_queue.Writer.TryWrite(reply))
        {
            LogDropped(logger, reply.ConversationId);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var reply in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    if (reply.ReplyToId is { Length: > 0 } replyTo)
                    {
                        await connector.ReplyAsync(reply.ServiceUrl, reply.ConversationId, replyTo, reply.Activity, stoppingToken);
                    }
                    else
                    {
                        await connector.SendAsync(reply.ServiceUrl, reply.ConversationId, reply.Activity, stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, reply.ConversationId, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: reply queue full; dropped an answer to {ConversationId}")]
    private static partial void LogDropped(ILogger logger, string conversationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: could not send an answer to {ConversationId}")]
    private static partial void LogFailed(ILogger logger, string conversationId, Exception exception);
}
