using System.Globalization;
using IncidentBot.Core.Security;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.Api;

/// <summary>
/// Guards the JSON API with <see cref="AccessPolicy"/>: 401 with a reason otherwise. A client that keeps presenting
/// wrong bearer tokens is turned away (429) for a while, so tokens cannot be guessed at speed.
/// </summary>
internal sealed partial class ApiAccessFilter(AccessPolicy access, FailureLimiter failures, ILogger<ApiAccessFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var client = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (failures.IsBlocked(client))
        {
            Refused(http, client, "too_many_failures");
            http.Response.Headers.RetryAfter = FailureLimiter.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Json(new ErrorDto("Too many failed attempts; try again later."), ApiJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status429TooManyRequests);
        }

        var decision = access.Decide(http);
        if (decision == AccessDecision.Allowed)
        {
            return await next(context);
        }

        if (decision == AccessDecision.Unauthenticated && http.Request.Headers.Authorization.Count > 0)
        {
            failures.RecordFailure(client);
        }

        Refused(http, client, decision == AccessDecision.Unauthenticated ? "bad_credentials" : "loopback_only");
        http.Response.Headers.WWWAuthenticate = "Bearer";
        var message = decision == AccessDecision.Unauthenticated
            ? "A valid bearer token is required."
            : "The API answers only on loopback until Api:Tokens is configured.";
        return TypedResults.Json(new ErrorDto(message), ApiJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status401Unauthorized);
    }

    private void Refused(HttpContext http, string client, string reason)
    {
        IncidentBotTelemetry.InboundRefused.Add(1, new KeyValuePair<string, object?>("endpoint", "api"), new KeyValuePair<string, object?>("reason", reason));
        LogRefused(logger, http.Request.Path, client, reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused API request to {Path} from {Remote}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string path, string remote, string reason);
}
