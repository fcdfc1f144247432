using System.Net;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>
/// Sends one pager request with retries: 429 waits for Retry-After, 5xx and network errors back off
/// exponentially with jitter, any other 4xx fails at once (the request cannot succeed as sent).
/// </summary>
public sealed partial class PagerHttp(IHttpClientFactory clients, TimeProvider time, IOptions<PagingOptions> options, ILogger<PagerHttp> logger)
{
    public const string ClientName = "IncidentBot.Paging";

    /// <summary>Returns the successful response body; throws <see cref="PageFailedException"/> otherwise.</summary>
    public async Task<string> SendAsync(string pager, Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var http = clients.CreateClient(ClientName);
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan delay;
            string problem;
            try
            {
                using var request = createRequest();
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(settings.RequestTimeout);
                using var response = await http.SendAsync(request, timeout.Token);
                var body = await response.Content.ReadAsStringAsync(timeout.Token);
                var status = (int)response.StatusCode;
                CountCall(pager, response.IsSuccessStatusCode ? "ok" : status == 429 ? "rate_limited" : status >= 500 ? "error" : "failed");
                if (response.IsSuccessStatusCode)
                {
                    return body;
                }

                problem = $"{pager} answered {status} {Shorten(body)}";
                if (response.StatusCode != HttpStatusCode.TooManyRequests && status < 500)
                {
                    LogRejected(logger, pager, status);
                    throw new PageFailedException(problem);
                }

                delay = response.StatusCode == HttpStatusCode.TooManyRequests && RetryAfter(response, time.GetUtcNow()) is { } wait
                    ? wait
                    : Backoff(attempt, settings);
            }
            catch (HttpRequestException ex)
            {
                CountCall(pager, "error");
                problem = $"{pager} unreachable: {ex.Message}";
                delay = Backoff(attempt, settings);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                CountCall(pager, "error");
                problem = $"{pager} did not answer within {settings.RequestTimeout.TotalSeconds:0.#} s";
                delay = Backoff(attempt, settings);
            }

            if (attempt >= settings.MaxAttempts)
            {
                LogGaveUp(logger, pager, attempt, problem);
                throw new PageFailedException($"{problem} (gave up after {attempt} tries)");
            }

            delay = Clamp(delay, settings.MaxRetryDelay);
            LogRetrying(logger, pager, attempt, delay, problem);
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private static void CountCall(string pager, string outcome) =>
        IncidentBotTelemetry.OutboundCalls.Add(
            1,
            new KeyValuePair<string, object?>("platform", pager),
            new KeyValuePair<string, object?>("method", "page"),
            new KeyValuePair<string, object?>("outcome", outcome));

    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now,
            _ => null,
        };

    /// <summary>A Retry-After date already past means now; one far off (or a huge backoff) waits at most <paramref name="max"/>.</summary>
    internal static TimeSpan Clamp(TimeSpan delay, TimeSpan max) =>
        delay < TimeSpan.Zero ? TimeSpan.Zero : delay > max ? max : delay;

    private static TimeSpan Backoff(int attempt, PagingOptions settings)
    {
        var exponential = settings.RetryDelay * Math.Pow(2, attempt - 1);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return exponential * jitter;
    }

    private static string Shorten(string body) => body.Length <= 200 ? body : string.Concat(body.AsSpan(0, 200), "…");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Page to {Pager} failed (attempt {Attempt}), retrying in {Delay}: {Problem}")]
    private static partial void LogRetrying(ILogger logger, string pager, int attempt, TimeSpan delay, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Page to {Pager} failed {Attempt} times; giving up: {Problem}")]
    private static partial void LogGaveUp(ILogger logger, string pager, int attempt, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Pager} rejected the page with {Status}; not retrying")]
    private static partial void LogRejected(ILogger logger, string pager, int status);
}
