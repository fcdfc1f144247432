namespace IncidentBot.Api;

/// <summary>Guards the JSON API with <see cref="AccessPolicy"/>: 401 with a reason otherwise.</summary>
internal sealed partial class ApiAccessFilter(AccessPolicy access, ILogger<ApiAccessFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var decision = access.Decide(http);
        if (decision == AccessDecision.Allowed)
        {
            return await next(context);
        }

        LogRefused(logger, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "unknown", decision);
        http.Response.Headers.WWWAuthenticate = "Bearer";
        var message = decision == AccessDecision.Unauthenticated
            ? "A valid bearer token is required."
            : "The API answers only on loopback until Api:Tokens is configured.";
        return TypedResults.Json(new ErrorDto(message), ApiJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status401Unauthorized);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused API request to {Path} from {Remote}: {Decision}")]
    private static partial void LogRefused(ILogger logger, string path, string remote, AccessDecision decision);
}
