using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace IncidentBot.Api;

public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Bearer tokens accepted by the API. With none configured only direct loopback callers get in.</summary>
    public IList<string> Tokens { get; } = [];
}

/// <summary>
/// Guards the API: a configured bearer token, or (when no token is configured, the zero-setup case) a
/// caller on loopback that did not come through a proxy.
/// </summary>
internal sealed partial class ApiAccessFilter(IOptionsMonitor<ApiOptions> options, ILogger<ApiAccessFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var tokens = options.CurrentValue.Tokens.Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
        var allowed = tokens.Count > 0 ? HasValidToken(http.Request, tokens) : IsDirectLoopback(http);
        if (allowed)
        {
            return await next(context);
        }

        LogRefused(logger, http.Request.Path, http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        http.Response.Headers.WWWAuthenticate = "Bearer";
        var message = tokens.Count > 0
            ? "A valid bearer token is required."
            : "The API answers only on loopback until Api:Tokens is configured.";
        return TypedResults.Json(new ErrorDto(message), ApiJsonContext.Default.ErrorDto, statusCode: StatusCodes.Status401Unauthorized);
    }

    private static bool HasValidToken(HttpRequest request, List<string> tokens)
    {
        var header = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Compare fixed-length digests so neither length nor content leaks through timing.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        var match = false;
        foreach (var token in tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(presented, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        }

        return match;
    }

    private static bool IsDirectLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } address &&
        IPAddress.IsLoopback(address) &&
        !http.Request.Headers.ContainsKey("X-Forwarded-For") &&
        !http.Request.Headers.ContainsKey("Forwarded");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused API request to {Path} from {Remote}: no valid credentials")]
    private static partial void LogRefused(ILogger logger, string path, string remote);
}
