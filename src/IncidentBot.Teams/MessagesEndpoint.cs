using System.Text.Json;
using IncidentBot.Teams.Activities;
using IncidentBot.Teams.Auth;
using IncidentBot.Teams.Schema;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams;

/// <summary>
/// <c>POST /api/messages</c>: parse, authenticate, then route; the answer goes back within Teams' deadline. The
/// host's ack-timing middleware measures this endpoint, like every chat endpoint.
/// </summary>
internal static partial class MessagesEndpoint
{
    /// <summary>Far above any real activity; bounds what an unauthenticated caller can make us read.</summary>
    public const int MaxBodyBytes = 512 * 1024;

    public static async Task<IResult> HandleAsync(HttpContext http, BotAuthenticator authenticator, TeamsBot bot, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("IncidentBot.Teams.Messages");
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            LogRejected(logger, 413, "body too large");
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        Activity? activity;
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, cancellationToken);
            if (buffer.Length > MaxBodyBytes)
            {
                LogRejected(logger, 413, "body too large");
                return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            }

            activity = JsonSerializer.Deserialize(buffer.ToArray(), TeamsJsonContext.Default.Activity);
        }
        catch (JsonException ex)
        {
            LogRejected(logger, 400, $"not an activity: {ex.Message}");
            return Results.Problem(statusCode: 400, title: "The body is not a Bot Framework activity.");
        }

        if (activity is null || string.IsNullOrWhiteSpace(activity.Type))
        {
            LogRejected(logger, 400, "activity without a type");
            return Results.Problem(statusCode: 400, title: "The activity has no type.");
        }

        var auth = await authenticator.AuthenticateAsync(http.Request.Headers.Authorization.ToString(), activity, cancellationToken);
        if (!auth.Succeeded)
        {
            var status = auth.Outcome switch
            {
                AuthOutcome.Forbidden => 403,
                AuthOutcome.Unavailable => 503,
                _ => 401,
            };
            LogRejected(logger, status, auth.Reason);
            if (status == 401)
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
            }

            return Results.StatusCode(status);
        }

        var response = await bot.HandleAsync(activity, cancellationToken);
        if (response is null)
        {
            return Results.Ok();
        }

        return response.Body is null
            ? Results.StatusCode(response.Status)
            : Results.Text(response.Body.ToJsonString(), "application/json", statusCode: response.Status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: rejected an activity with {Status}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int status, string reason);
}
