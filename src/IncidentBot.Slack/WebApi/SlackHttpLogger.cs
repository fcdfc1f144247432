using IncidentBot.Core.Security;
using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.WebApi;

/// <summary>
/// Logs the Slack HttpClient's requests in place of IHttpClientFactory's default logging, which writes whole request
/// URIs: a <c>response_url</c> or file-upload URL lets whoever reads it post as the bot, so it is written redacted.
/// </summary>
public sealed partial class SlackHttpLogger(ILogger<SlackHttpLogger> logger) : IHttpClientLogger
{
    /// <summary>Set by the client on requests to a URL Slack handed out (response_url, upload URL): always redacted.</summary>
    public static readonly HttpRequestOptionsKey<bool> CarriesCapability = new("IncidentBot.Slack.CarriesCapability");

    public object? LogRequestStart(HttpRequestMessage request) => null;

    public void LogRequestStop(object? context, HttpRequestMessage request, HttpResponseMessage response, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        LogAnswered(logger, request.Method, new LoggedUrl(request), (int)response.StatusCode, elapsed.TotalMilliseconds);
    }

    public void LogRequestFailed(object? context, HttpRequestMessage request, HttpResponseMessage? response, Exception exception, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        LogFailed(logger, request.Method, new LoggedUrl(request), elapsed.TotalMilliseconds, exception.GetType().Name);
    }

    /// <summary>The request's URL as it may be written down.</summary>
    public static string Describe(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is not { } uri)
        {
            return "(none)";
        }

        // A capability URL on a host CapabilityUrls does not know (a proxy, a test fake) is still a capability.
        return request.Options.TryGetValue(CarriesCapability, out var capability) && capability && uri.IsAbsoluteUri && !CapabilityUrls.IsCapability(uri)
            ? $"{uri.Scheme}://{uri.Authority}/[redacted]"
            : CapabilityUrls.Redact(uri);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack HTTP {Method} {Url} answered {Status} in {ElapsedMs:0} ms")]
    private static partial void LogAnswered(ILogger logger, HttpMethod method, LoggedUrl url, int status, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack HTTP {Method} {Url} failed after {ElapsedMs:0} ms: {Error}")]
    private static partial void LogFailed(ILogger logger, HttpMethod method, LoggedUrl url, double elapsedMs, string error);

    /// <summary>Redacted only when a log line is actually written.</summary>
    private readonly record struct LoggedUrl(HttpRequestMessage Request)
    {
        public override string ToString() => Describe(Request);
    }
}
