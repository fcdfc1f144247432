using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Telemetry;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.SocketMode;

/// <summary>One envelope: handed to the dispatcher, then acknowledged on the socket it came on.</summary>
public sealed partial class SocketModeService
{
    private async Task HandleEnvelopeAsync(ClientWebSocket socket, SemaphoreSlim sendLock, string envelopeId, JsonElement envelope, CancellationToken stoppingToken)
    {
        JsonObject? response = null;
        try
        {
            var type = Str(envelope, "type");
            var payload = envelope.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object
                ? p
                : throw new SlackPayloadException($"Envelope {type} without a payload.");
            switch (type)
            {
                case "events_api":
                    var retry = envelope.TryGetProperty("retry_attempt", out var r) && r.TryGetInt32(out var n) ? n : 0;
                    if (Str(payload, "type") == "event_callback")
                    {
                        await dispatcher.EventCallbackAsync(payload, retry, stoppingToken);
                    }

                    break;
                case "slash_commands":
                    var command = SlackDispatcher.ReadCommand(name => Str(payload, name));
                    response = (await dispatcher.CommandAsync(command, stoppingToken))?.ToJson();
                    break;
                case "interactive":
                    response = await dispatcher.InteractionAsync(payload, stoppingToken);
                    break;
                default:
                    LogUnknownEnvelope(logger, type ?? "(none)");
                    break;
            }
        }
        catch (SlackPayloadException ex)
        {
            // Acked anyway: Slack would only redeliver the same unreadable payload.
            LogBadEnvelope(logger, envelopeId, ex.Message);
        }
        catch (SlackRefusedException ex) when (ex.Refusal == SlackRefusal.ForeignWorkspace)
        {
            // Acked with no answer: nothing happens, nothing is said, and Slack does not redeliver.
            LogRefused(logger, envelopeId, ex.Message);
            IncidentBotTelemetry.InboundRefused.Add(1, new("endpoint", MetricEndpoint), new("reason", "workspace"));
            response = null;
        }
        catch (SlackRefusedException ex)
        {
            // Not acked: Slack delivers it again, by when the bot's own workspace may be known.
            LogRefused(logger, envelopeId, ex.Message);
            IncidentBotTelemetry.InboundRefused.Add(1, new("endpoint", MetricEndpoint), new("reason", "workspace_unverified"));
            return;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Not acked, so Slack delivers it again (to this or another connection).
            LogEnvelopeFailed(logger, envelopeId, ex);
            return;
        }

        var ack = new JsonObject { ["envelope_id"] = envelopeId };
        if (response is not null)
        {
            ack["payload"] = response;
        }

        await sendLock.WaitAsync(stoppingToken);
        try
        {
            if (socket.State == WebSocketState.Open)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(ack.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, stoppingToken);
            }
        }
        finally
        {
            sendLock.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode envelope of unknown type {Type}; acknowledged")]
    private static partial void LogUnknownEnvelope(ILogger logger, string type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode envelope {EnvelopeId} was malformed: {Reason}")]
    private static partial void LogBadEnvelope(ILogger logger, string envelopeId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode envelope {EnvelopeId} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string envelopeId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Slack Socket Mode envelope {EnvelopeId} failed; not acknowledged, Slack will redeliver")]
    private static partial void LogEnvelopeFailed(ILogger logger, string envelopeId, Exception exception);
}
