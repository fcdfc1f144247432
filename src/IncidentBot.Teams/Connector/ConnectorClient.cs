using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IncidentBot.Core.Telemetry;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Connector;

/// <summary>
/// The Bot Connector REST API on a conversation's service URL: send, reply, update, delete, create
/// conversation, members. Throttling (429) and transient failures (412, 502, 503, 504) are retried honouring
/// <c>Retry-After</c>; sends to one conversation are paced within Teams' per-conversation limit.
/// </summary>
public sealed partial class ConnectorClient(
    HttpClient http,
    BotTokenProvider tokens,
    ServiceUrlPolicy policy,
    TimeProvider time,
    IOptions<TeamsOptions> options,
    ILogger<ConnectorClient> logger)
{
    /// <summary>Teams rejects messages over about 100 KB (413); stay well below it.</summary>
    public const int MaxActivityBytes = 80 * 1024;

    private readonly ConcurrentDictionary<string, PaceSlot> _pace = new(StringComparer.Ordinal);

    public async Task<string?> SendAsync(string serviceUrl, string conversationId, Activity activity, CancellationToken cancellationToken)
    {
        var url = Url(serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities");
        var response = await SendJsonAsync<ResourceResponse>("send", HttpMethod.Post, url, Body(activity), conversationId, TeamsJsonContext.Default.ResourceResponse, cancellationToken);
        return response?.Id;
    }

    public async Task<string?> ReplyAsync(string serviceUrl, string conversationId, string replyToId, Activity activity, CancellationToken cancellationToken)
    {
        var url = Url(serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities/{Uri.EscapeDataString(replyToId)}");
        var response = await SendJsonAsync<ResourceResponse>("reply", HttpMethod.Post, url, Body(activity with { ReplyToId = replyToId }), conversationId, TeamsJsonContext.Default.ResourceResponse, cancellationToken);
        return response?.Id;
    }

    public async Task UpdateAsync(string serviceUrl, string conversationId, string activityId, Activity activity, CancellationToken cancellationToken)
    {
        var url = Url(serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/activities/{Uri.EscapeDataString(activityId)}");
        await SendJsonAsync<ResourceResponse>("update", HttpMethod.Put, url, Body(activity with { Id = activityId }), conversationId, TeamsJsonContext.Default.ResourceResponse, cancellationToken);
    }

    /// <summary>A new thread in a channel (isGroup + channelData.channel) or a 1:1 chat.</summary>
    public async Task<ConversationResourceResponse> CreateConversationAsync(string serviceUrl, ConversationParameters parameters, CancellationToken cancellationToken)
    {
        var url = Url(serviceUrl, "v3/conversations");
        var body = JsonSerializer.SerializeToUtf8Bytes(parameters, TeamsJsonContext.Default.ConversationParameters);
        var response = await SendJsonAsync("create_conversation", HttpMethod.Post, url, body, null, TeamsJsonContext.Default.ConversationResourceResponse, cancellationToken);
        return response is { Id.Length: > 0 } ? response : throw new HttpRequestException("Create conversation returned no conversation id.");
    }

    /// <summary>One member by MRI (<c>29:…</c>) or Entra object id; null when the connector does not know them.</summary>
    public async Task<TeamsMember?> GetMemberAsync(string serviceUrl, string conversationId, string userId, CancellationToken cancellationToken)
    {
        var url = Url(serviceUrl, $"v3/conversations/{Uri.EscapeDataString(conversationId)}/members/{Uri.EscapeDataString(userId)}");
        try
        {
            return await SendJsonAsync("get_member", HttpMethod.Get, url, null, null, TeamsJsonContext.Default.TeamsMember, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden)
        {
            return null;
        }
    }

    private static byte[] Body(Activity activity)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(activity, TeamsJsonContext.Default.Activity);
        return body.Length <= MaxActivityBytes
            ? body
            : throw new InvalidOperationException($"The activity is {body.Length} bytes; Teams accepts at most about {MaxActivityBytes}.");
    }

    private Uri Url(string serviceUrl, string path)
    {
        if (!policy.IsAllowed(serviceUrl))
        {
            throw new InvalidOperationException(
                $"Refusing to call the service URL {serviceUrl}: not a Microsoft Bot Connector host (add it to Teams:AllowedServiceHosts if it is one).");
        }

        return new Uri(new Uri(serviceUrl.EndsWith('/') ? serviceUrl : serviceUrl + "/"), path);
    }

    private async Task<T?> SendJsonAsync<T>(string operation, HttpMethod method, Uri url, byte[]? body, string? paceKey, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        var settings = options.Value;
        for (var attempt = 0; ; attempt++)
        {
            if (paceKey is not null && method != HttpMethod.Get)
            {
                await PaceAsync(paceKey, settings.SendInterval, cancellationToken);
            }

            using var request = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }

            if (await tokens.GetTokenAsync(cancellationToken) is { } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException ex) when (attempt < settings.MaxRetries)
            {
                Count(operation, "error");
                var wait = Backoff(attempt, settings);
                LogRetry(logger, method.Method, url.AbsolutePath, 0, wait, ex);
                await Task.Delay(wait, time, cancellationToken);
                continue;
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    Count(operation, "ok");
                    return await ReadAsync(response, type, cancellationToken);
                }

                var status = (int)response.StatusCode;
                if (status == 401 && attempt == 0)
                {
                    tokens.Invalidate();
                    continue;
                }

                if (IsTransient(status) && attempt < settings.MaxRetries)
                {
                    Count(operation, status == 429 ? "rate_limited" : "error");
                    var wait = RetryAfter(response) ?? Backoff(attempt, settings);
                    wait = wait > settings.MaxRetryDelay ? settings.MaxRetryDelay : wait;
                    LogRetry(logger, method.Method, url.AbsolutePath, status, wait, null);
                    await Task.Delay(wait, time, cancellationToken);
                    continue;
                }

                Count(operation, "failed");
                var detail = await response.Content.ReadAsStringAsync(cancellationToken);
                LogFailed(logger, method.Method, url.AbsolutePath, status, detail.Length > 300 ? detail[..300] : detail);
                throw new HttpRequestException($"Bot Connector {method} {url.AbsolutePath} answered {status}.", null, response.StatusCode);
            }
        }
    }

    private static async Task<T?> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        // The Agents Playground answers sends with 202 and no body; real Teams returns {"id": ...}.
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(text, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Count(string operation, string outcome) =>
        IncidentBotTelemetry.OutboundCalls.Add(1, new("platform", "teams"), new("method", operation), new("outcome", outcome));

    private static bool IsTransient(int status) => status is 429 or 412 or 500 or 502 or 503 or 504;

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static TimeSpan Backoff(int attempt, TeamsOptions settings)
    {
        var exponential = TimeSpan.FromMilliseconds(500 * Math.Pow(2, attempt));
        var jittered = exponential * (0.8 + Random.Shared.NextDouble() * 0.4);
        return jittered > settings.MaxRetryDelay ? settings.MaxRetryDelay : jittered;
    }

    private async Task PaceAsync(string conversationId, TimeSpan interval, CancellationToken cancellationToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        var slot = _pace.GetOrAdd(conversationId, _ => new PaceSlot());
        TimeSpan wait;
        lock (slot)
        {
            var now = time.GetUtcNow();
            var start = slot.Next > now ? slot.Next : now;
            slot.Next = start + interval;
            wait = start - now;
        }

        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken);
        }
    }

    private sealed class PaceSlot
    {
        public DateTimeOffset Next { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: {Method} {Path} answered {Status}; retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string method, string path, int status, TimeSpan delay, Exception? exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: {Method} {Path} failed with {Status}: {Detail}")]
    private static partial void LogFailed(ILogger logger, string method, string path, int status, string detail);
}
