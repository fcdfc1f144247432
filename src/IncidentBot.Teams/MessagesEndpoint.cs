using System.Globalization;
using System.Text.Json;
using IncidentBot.Core.Security;
using IncidentBot.Core.Telemetry;
using IncidentBot.Teams.Auth;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams;

/// <summary>
/// <c>POST /api/messages</c>: turn away clients that failed too often, authenticate from the headers, read the body
/// (bounded), check the token against the activity and its tenant, then route; the answer goes back within Teams'
/// deadline. The host's ack-timing middleware measures this endpoint, like every chat endpoint.
/// </summary>
internal static partial class MessagesEndpoint
{
    /// <summary>Far above any real activity; bounds what an unauthenticated caller can make us read.</summary>
    public const int MaxBodyBytes = 512 * 1024;

    /// <summary>The <c>endpoint</c> tag of <see cref="IncidentBotTelemetry.InboundRefused"/>.</summary>
    public const string MetricEndpoint = "teams.messages";

    public static async Task<IResult> HandleAsync(
        HttpContext http, BotAuthenticator authenticator, FailureLimiter failures, TeamsDispatcher dispatcher, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("IncidentBot.Teams.Messages");
        var client = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (failures.IsBlocked(client))
        {
            http.Response.Headers.RetryAfter = FailureLimiter.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return Refuse(logger, client, StatusCodes.Status429TooManyRequests, "too_many_failures", "too many failed authentications");
        }

        var direct = DirectCaller.IsDirectLoopback(http.Connection.RemoteIpAddress, name => http.Request.Headers.ContainsKey(name));
        var auth = await authenticator.AuthenticateAsync(http.Request.Headers.Authorization.ToString(), direct, cancellationToken);
        if (!auth.Succeeded)
        {
            return Refused(http, logger, failures, client, auth);
        }

        var body = await ReadBodyAsync(http.Request, cancellationToken);
        if (body is null)
        {
            return Refuse(logger, client, StatusCodes.Status413PayloadTooLarge, "too_large", $"body over {MaxBodyBytes} bytes");
        }

        Activity? activity;
        try
        {
            activity = JsonSerializer.Deserialize(body, TeamsJsonContext.Default.Activity);
        }
        catch (JsonException ex)
        {
            LogRejected(logger, client, 400, $"not an activity: {ex.Message}");
            return Results.Problem(statusCode: 400, title: "The body is not a Bot Framework activity.");
        }

        if (activity is null || string.IsNullOrWhiteSpace(activity.Type))
        {
            LogRejected(logger, client, 400, "activity without a type");
            return Results.Problem(statusCode: 400, title: "The activity has no type.");
        }

        var authorized = authenticator.Authorize(auth, activity);
        if (!authorized.Succeeded)
        {
            return Refused(http, logger, failures, client, authorized);
        }

        var response = await dispatcher.HandleAsync(activity, cancellationToken);
        if (response is null)
        {
            return Results.Ok();
        }

        return response.Body is null
            ? Results.StatusCode(response.Status)
            : Results.Text(response.Body.ToJsonString(), "application/json", statusCode: response.Status);
    }

    /// <summary>The body, or null past <see cref="MaxBodyBytes"/> (Kestrel enforces the same limit through the endpoint's metadata).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        try
        {
            return await BoundedBody.ReadAsync(request.Body, request.ContentLength, MaxBodyBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private static IResult Refused(HttpContext http, ILogger logger, FailureLimiter failures, string client, AuthResult auth)
    {
        switch (auth.Outcome)
        {
            case AuthOutcome.Unauthorized or AuthOutcome.LocalModeRefused:
                // Only failed authentication counts: Microsoft's own traffic never fails it, so it is never throttled.
                failures.RecordFailure(client);
                http.Response.Headers.WWWAuthenticate = "Bearer";
                return Refuse(logger, client, 401, auth.Outcome == AuthOutcome.LocalModeRefused ? "local_mode" : "unauthenticated", auth.Reason);
            case AuthOutcome.Forbidden:
                return Refuse(logger, client, 403, "forbidden", auth.Reason);
            case AuthOutcome.TenantNotAllowed:
                return Refuse(logger, client, 403, "tenant", auth.Reason);
            default:
                LogRejected(logger, client, 503, auth.Reason);
                return Results.StatusCode(503);
        }
    }

    private static IResult Refuse(ILogger logger, string client, int status, string reason, string detail)
    {
        LogRejected(logger, client, status, detail);
        IncidentBotTelemetry.InboundRefused.Add(1, new("endpoint", MetricEndpoint), new("reason", reason));
        return Results.StatusCode(status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: refused an activity from {Client} with {Status}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string client, int status, string reason);
}
