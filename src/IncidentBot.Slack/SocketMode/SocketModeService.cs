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

/// <summary>
/// Socket Mode: keeps <see cref="SlackOptions.SocketModeConnections"/> WebSockets open (so one being
/// refreshed does not drop events), feeds every envelope to the same <see cref="SlackDispatcher"/> as
/// HTTP and acks it by <c>envelope_id</c> once handled. Reconnects on <c>disconnect</c> at once, and
/// with growing backoff after failures; a connection that stops answering pings
/// (<see cref="SlackOptions.SocketModeLivenessTimeout"/>) is aborted and replaced.
/// </summary>
public sealed partial class SocketModeService(
    ISlackApi slack,
    SlackDispatcher dispatcher,
    IOptions<SlackOptions> options,
    TimeProvider time,
    ILogger<SocketModeService> logger) : BackgroundService
{
    /// <summary>The <c>endpoint</c> tag of <see cref="IncidentBotTelemetry.InboundRefused"/> for envelopes.</summary>
    public const string MetricEndpoint = "slack.socket_mode";

    private const int MaxMessageBytes = 4 * 1024 * 1024;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    // Errors after which reconnecting cannot help until someone changes the configuration.
    private static readonly HashSet<string> FatalErrors = new(StringComparer.Ordinal)
    {
        "not_authed", "invalid_auth", "account_inactive", "user_removed_from_team", "team_disabled", "token_revoked", "not_allowed_token_type",
    };

    private int _connected;

    /// <summary>How many connections have said hello and are open now.</summary>
    public int ConnectedCount => Volatile.Read(ref _connected);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.SocketModeEnabled)
        {
            return;
        }

        LogStarting(logger, settings.SocketModeConnections);
        await Task.WhenAll(Enumerable.Range(1, settings.SocketModeConnections).Select(i => KeepConnectedAsync(i, stoppingToken)));
    }

    private async Task KeepConnectedAsync(int index, CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var url = await slack.OpenSocketModeConnectionAsync(stoppingToken);
                using var socket = new ClientWebSocket();
                // Liveness: a ping every half of the timeout, and the socket is aborted when one goes unanswered for
                // the other half (a half-open connection that would otherwise wait forever); then it is opened again.
                var liveness = options.Value.SocketModeLivenessTimeout / 2;
                socket.Options.KeepAliveInterval = liveness;
                socket.Options.KeepAliveTimeout = liveness;
                await socket.ConnectAsync(url, stoppingToken);
                string reason;
                try
                {
                    reason = await ReceiveAsync(index, socket, () => failures = 0, stoppingToken);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // A ping went unanswered (a half-open connection): the socket was aborted; open another at once.
                    // (Not told apart by the socket's state: the pending read can end before the state says Aborted,
                    // and the exception then ended this connection's loop for good.)
                    reason = $"no pong within {liveness.TotalSeconds:0.#} s";
                }

                LogDisconnected(logger, index, reason);
                if (reason == "link_disabled")
                {
                    failures++;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SlackApiException ex) when (FatalErrors.Contains(ex.Error))
            {
                LogFatal(logger, index, ex.Error);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever went wrong, this connection is opened again after a back-off rather than lost for good.
                failures++;
                LogConnectionFailed(logger, index, failures, ex.Message);
            }

            if (failures > 0)
            {
                var backoff = TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, failures - 1)));
                await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Reads until the socket closes or Slack asks us to reconnect; returns why it ended.</summary>
    private async Task<string> ReceiveAsync(int index, ClientWebSocket socket, Action onHello, CancellationToken stoppingToken)
    {
        var sendLock = new SemaphoreSlim(1, 1);
        var inFlight = new List<Task>();
        var helloSeen = false;
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var text = await ReadMessageAsync(socket, stoppingToken);
                if (text is null)
                {
                    return "closed";
                }

                JsonElement message;
                try
                {
                    using var document = JsonDocument.Parse(text);
                    message = document.RootElement.Clone();
                }
                catch (JsonException)
                {
                    LogBadFrame(logger, index);
                    continue;
                }

                switch (Str(message, "type"))
                {
                    case "hello":
                        helloSeen = true;
                        Interlocked.Increment(ref _connected);
                        onHello();
                        LogHello(logger, index);
                        break;
                    case "disconnect":
                        var reason = Str(message, "reason") ?? "unknown";
                        await CloseAsync(socket);
                        return reason;
                    default:
                        if (Str(message, "envelope_id") is { } envelopeId)
                        {
                            inFlight.RemoveAll(t => t.IsCompleted);
                            inFlight.Add(HandleEnvelopeAsync(socket, sendLock, envelopeId, message, stoppingToken));
                        }

                        break;
                }
            }

            return "closed";
        }
        finally
        {
            if (helloSeen)
            {
                Interlocked.Decrement(ref _connected);
            }

            await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
    private static async Task<string?> ReadMessageAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await CloseAsync(socket);
                return null;
            }

            message.Write(buffer, 0, result.Count);
            if (message.Length > MaxMessageBytes)
            {
                throw new IOException("A Socket Mode message exceeded 4 MB.");
            }

            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
            }
        }
    }

    private static async Task CloseAsync(ClientWebSocket socket)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The server may already be gone; a fresh connection follows either way.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode: opening {Count} connections")]
    private static partial void LogStarting(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode connection {Index} is up")]
    private static partial void LogHello(ILogger logger, int index);

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack Socket Mode connection {Index} ended ({Reason}); reconnecting")]
    private static partial void LogDisconnected(ILogger logger, int index, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode connection {Index} failed ({Failures} in a row): {Reason}")]
    private static partial void LogConnectionFailed(ILogger logger, int index, int failures, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Slack Socket Mode connection {Index} stopped: {Error}. Check Slack:AppToken")]
    private static partial void LogFatal(ILogger logger, int index, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack Socket Mode connection {Index} sent a frame that is not JSON")]
    private static partial void LogBadFrame(ILogger logger, int index);
}
