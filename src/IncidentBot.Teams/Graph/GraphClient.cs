using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Telemetry;
using IncidentBot.Teams.Connector;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Graph;

/// <summary>A channel Graph made.</summary>
public sealed record GraphChannel(string Id, string DisplayName, string? WebUrl);

/// <summary>Graph refused a call for good (or kept throttling past <c>Teams:MaxRetries</c>): its status and error code.</summary>
public sealed class GraphException(string operation, int status, string? code, string? detail)
    : Exception($"Microsoft Graph {operation} failed: {status} {code}{(string.IsNullOrEmpty(detail) ? "" : $" ({detail})")}")
{
    public int Status { get; } = status;

    /// <summary>Graph's <c>error.code</c>, e.g. <c>NameAlreadyExists</c>, <c>Forbidden</c>.</summary>
    public string? Code { get; } = code;

    public bool NameAlreadyExists => string.Equals(Code, "NameAlreadyExists", StringComparison.OrdinalIgnoreCase);

    /// <summary>Worth another try later (throttled, Graph unavailable, no answer); anything else will fail the same way.</summary>
    public bool IsTransient => Status is 0 or 429 or 500 or 502 or 503 or 504;
}

/// <summary>
/// The few Microsoft Graph calls the bot makes, with an app-only token (client credentials for
/// <c>https://graph.microsoft.com/.default</c> at <c>Teams:GraphTokenEndpoint</c>) against <c>Teams:GraphBaseUrl</c>.
/// Throttling (429) and unavailability (503, 502, 504) are retried honouring <c>Retry-After</c> up to
/// <c>Teams:MaxRetryDelay</c>; calls on one team are paced below Graph's limit of 4 requests a second per app per team.
/// </summary>
public sealed partial class GraphClient(
    HttpClient http,
    IOptions<TeamsOptions> options,
    TimeProvider time,
    ILogger<GraphClient> logger) : IDisposable
{
    /// <summary>Graph allows about 4 requests a second per app on one team.</summary>
    public static readonly TimeSpan TeamInterval = TimeSpan.FromMilliseconds(250);

    private readonly ClientCredentialsTokens _tokens = new(http, time, logger, "Microsoft Graph");
    private readonly ConcurrentDictionary<string, PaceSlot> _pace = new(StringComparer.OrdinalIgnoreCase);

    /// <summary><c>POST /teams/{teamId}/channels</c>: a standard channel.</summary>
    public async Task<GraphChannel> CreateChannelAsync(string teamId, string displayName, string description, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["displayName"] = displayName,
            ["description"] = description,
            ["membershipType"] = "standard",
        };
        var created = await SendAsync("create_channel", HttpMethod.Post, $"teams/{Uri.EscapeDataString(teamId)}/channels", teamId, body, cancellationToken);
        return created?["id"]?.GetValue<string>() is { Length: > 0 } id
            ? new GraphChannel(id, created["displayName"]?.GetValue<string>() ?? displayName, created["webUrl"]?.GetValue<string>())
            : throw new GraphException("create_channel", 200, "NoChannelId", "the answer had no channel id");
    }

    /// <summary><c>POST /teams/{teamId}/channels/{channelId}/archive</c> (asynchronous at Graph: 202).</summary>
    public async Task ArchiveChannelAsync(string teamId, string channelId, CancellationToken cancellationToken) =>
        await SendAsync("archive_channel", HttpMethod.Post,
            $"teams/{Uri.EscapeDataString(teamId)}/channels/{Uri.EscapeDataString(channelId)}/archive", teamId, new JsonObject(), cancellationToken);

    private async Task<JsonNode?> SendAsync(string operation, HttpMethod method, string path, string teamId, JsonNode? body, CancellationToken cancellationToken) =>
        await SendTextAsync(operation, method, path, teamId, body, cancellationToken) is { Length: > 0 } text ? Parse(text) : null;

    /// <summary>One call, retried as the class says; <paramref name="paceKey"/> is the team (or user) whose calls are paced together.</summary>
    private async Task<string> SendTextAsync(string operation, HttpMethod method, string path, string paceKey, JsonNode? body, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var baseUrl = settings.GraphBaseUrl.EndsWith('/') ? settings.GraphBaseUrl : settings.GraphBaseUrl + "/";
        var url = new Uri(new Uri(baseUrl), path);
        var payload = body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
        var unauthorizedOnce = false;
        for (var attempt = 0; ; attempt++)
        {
            var token = await TokenAsync(operation, settings, cancellationToken);
            await PaceAsync(paceKey, cancellationToken);
            using var request = new HttpRequestMessage(method, url);
            if (payload is not null)
            {
                request.Content = new ByteArrayContent(payload);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }

            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                if (attempt >= settings.MaxRetries)
                {
                    Count(operation, "failed");
                    throw new GraphException(operation, 0, "NoAnswer", ex.Message);
                }

                Count(operation, "error");
                var wait = Backoff(attempt, settings);
                LogRetry(logger, operation, 0, wait);
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    Count(operation, "ok");
                    return text;
                }

                if (status == 401 && !unauthorizedOnce)
                {
                    unauthorizedOnce = true;
                    _tokens.Invalidate();
                    continue;
                }

                var (code, message) = ErrorOf(text);
                if (status is 429 or 502 or 503 or 504 && attempt < settings.MaxRetries)
                {
                    Count(operation, status == 429 ? "rate_limited" : "error");
                    var wait = RetryAfter(response) ?? Backoff(attempt, settings);
                    wait = wait > settings.MaxRetryDelay ? settings.MaxRetryDelay : wait;
                    LogRetry(logger, operation, status, wait);
                    await Task.Delay(wait, time, cancellationToken);
                    continue;
                }

                Count(operation, "failed");
                LogFailed(logger, operation, status, code, message);
                throw new GraphException(operation, status, code, message);
            }
        }
    }

    private async Task<string> TokenAsync(string operation, TeamsOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            return await _tokens.GetTokenAsync(settings.EffectiveGraphTokenEndpoint, settings.AppId, settings.AppPassword, TeamsOptions.GraphScope, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            // A refused secret is permanent; an unreachable or failing endpoint may recover.
            var status = (int?)ex.StatusCode ?? 0;
            throw new GraphException(operation, status is >= 500 ? 503 : status, "TokenRequestFailed", ex.Message);
        }
    }

    private static JsonNode? Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (string? Code, string? Message) ErrorOf(string text)
    {
        var error = Parse(text)?["error"];
        string? Read(string name) => error?[name] is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;
        var message = Read("message");
        return (Read("code"), message is { Length: > 200 } ? message[..200] : message);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        var wait = header.Delta ?? (header.Date is { } date ? date - time.GetUtcNow() : (TimeSpan?)null);
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    private static TimeSpan Backoff(int attempt, TeamsOptions settings)
    {
        var exponential = TimeSpan.FromMilliseconds(500 * Math.Pow(2, attempt));
        var jittered = exponential * (0.8 + Random.Shared.NextDouble() * 0.4);
        return jittered > settings.MaxRetryDelay ? settings.MaxRetryDelay : jittered;
    }

    private async Task PaceAsync(string teamId, CancellationToken cancellationToken)
    {
        var slot = _pace.GetOrAdd(teamId, _ => new PaceSlot());
        TimeSpan wait;
        lock (slot)
        {
            var now = time.GetUtcNow();
            var start = slot.Next > now ? slot.Next : now;
            slot.Next = start + TeamInterval;
            wait = start - now;
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken);
        }
    }

    private static void Count(string operation, string outcome) =>
        IncidentBotTelemetry.OutboundCalls.Add(1, new("platform", "graph"), new("method", operation), new("outcome", outcome));

    public void Dispose() => _tokens.Dispose();

    private sealed class PaceSlot
    {
        public DateTimeOffset Next { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: Graph {Operation} answered {Status}; retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string operation, int status, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: Graph {Operation} failed with {Status} {Code}: {Detail}")]
    private static partial void LogFailed(ILogger logger, string operation, int status, string? code, string? detail);
}
