using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Polly;

namespace IncidentBot.Slack.WebApi;

/// <summary>The transport under <see cref="SlackApiClient"/>'s methods: one request, its errors, retries and telemetry.</summary>
public sealed partial class SlackApiClient
{
    private async Task<JsonElement> CallAsync(string method, JsonObject arguments, CancellationToken cancellationToken) =>
        await retry.Pipeline.ExecuteAsync(async ct => await SendOnceAsync(method, arguments, Options.BotToken, ct), cancellationToken);

    /// <summary>A form-encoded call, for the file methods, whose oldest documentation lists only that content type.</summary>
    private async Task<JsonElement> CallWithFormAsync(string method, JsonObject arguments, CancellationToken cancellationToken) =>
        await retry.Pipeline.ExecuteAsync(async ct => await SendOnceAsync(method, arguments, Options.BotToken, asForm: true, ct), cancellationToken);

    /// <summary>Only Slack's hooks host (or the configured API host, for tests and proxies) may receive response_url posts.</summary>
    internal bool IsSlackResponseUrl(Uri url) =>
        url.IsAbsoluteUri && (
            url.Scheme == Uri.UriSchemeHttps && url.Host.Equals("hooks.slack.com", StringComparison.OrdinalIgnoreCase) ||
            Uri.Compare(url, Options.ApiBaseUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);

    /// <summary>Upload URLs come from Slack's answer; only Slack's file hosts (or the configured API host) may receive the bytes.</summary>
    internal bool IsSlackUploadUrl(Uri url) =>
        url.IsAbsoluteUri && (
            url.Scheme == Uri.UriSchemeHttps && (url.Host.Equals("slack.com", StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith(".slack.com", StringComparison.OrdinalIgnoreCase)) ||
            Uri.Compare(url, Options.ApiBaseUri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);

    private Task<JsonElement> SendOnceAsync(string method, JsonObject arguments, string? token, CancellationToken cancellationToken) =>
        SendOnceAsync(method, arguments, token, asForm: false, cancellationToken);

    private async Task<JsonElement> SendOnceAsync(string method, JsonObject arguments, string? token, bool asForm, CancellationToken cancellationToken)
    {
        // Anything that ends without Slack's envelope (network, 5xx, other HTTP status, unreadable body) is "failed".
        string? outcome = "failed";
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Options.ApiBaseUri, method))
            {
                Content = asForm ? Form(arguments) : new StringContent(arguments.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, cancellationToken);
            if (HttpFailure(method, response) is { } failure)
            {
                outcome = failure is SlackRateLimitedException ? "rate_limited" : "failed";
                throw failure;
            }

            JsonElement root;
            try
            {
                var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
                root = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new SlackTransientException(method, "the answer was not JSON");
            }

            if (root.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True)
            {
                outcome = "ok";
                return root;
            }

            var error = Str(root, "error") ?? "unknown_error";
            if (error is "ratelimited" or "rate_limited")
            {
                outcome = "rate_limited";
                throw new SlackRateLimitedException(method, RetryAfter(response));
            }

            outcome = "error";
            if (error is "internal_error" or "fatal_error" or "service_unavailable" or "request_timeout")
            {
                throw new SlackTransientException(method, error);
            }

            LogApiError(logger, method, error);
            throw new SlackApiException(method, error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Our own cancellation (shutdown, an expired trigger_id) says nothing about Slack.
            outcome = null;
            throw;
        }
        finally
        {
            if (outcome is not null)
            {
                Count(method, outcome);
            }
        }
    }

    /// <summary>The POST of a file's bytes to the URL files.getUploadURLExternal handed out; it is pre-signed, so no token goes with it.</summary>
    private async Task SendBytesAsync(Uri uploadUrl, string fileName, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        string? outcome = "failed";
        try
        {
            using var body = new ReadOnlyMemoryContent(content);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var form = new MultipartFormDataContent { { body, "filename", fileName } };
            using var request = new HttpRequestMessage(HttpMethod.Post, uploadUrl) { Content = form };
            request.Options.Set(SlackHttpLogger.CarriesCapability, true);
            using var response = await http.SendAsync(request, cancellationToken);
            if (HttpFailure(UploadMethod, response) is { } failure)
            {
                outcome = failure is SlackRateLimitedException ? "rate_limited" : "failed";
                throw failure;
            }

            outcome = "ok";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = null;
            throw;
        }
        finally
        {
            if (outcome is not null)
            {
                Count(UploadMethod, outcome);
            }
        }
    }

    /// <summary>What an HTTP status other than 2xx means: wait (429), retry (5xx) or give up (the rest).</summary>
    private static Exception? HttpFailure(string method, HttpResponseMessage response) => (int)response.StatusCode switch
    {
        429 => new SlackRateLimitedException(method, RetryAfter(response)),
        >= 500 => new SlackTransientException(method, $"HTTP {(int)response.StatusCode}"),
        _ when !response.IsSuccessStatusCode => new SlackApiException(method, $"http_{(int)response.StatusCode}"),
        _ => null,
    };

    /// <summary>Form fields as the official SDKs send them: strings as they are, numbers and objects as JSON.</summary>
    private static FormUrlEncodedContent Form(JsonObject arguments) =>
        new(arguments.Select(a => KeyValuePair.Create(a.Key, a.Value switch
        {
            JsonValue v when v.TryGetValue<string>(out var text) => text,
            null => "",
            var node => node.ToJsonString(),
        })));

    private static void Count(string method, string outcome) =>
        IncidentBotTelemetry.OutboundCalls.Add(1, new("platform", SlackIds.Platform), new("method", method), new("outcome", outcome));

    private static TimeSpan RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter?.Delta is { } delta)
        {
            return delta;
        }

        return response.Headers.TryGetValues("Retry-After", out var values) &&
            int.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.FromSeconds(1);
    }

    private static SlackChannel ReadChannel(JsonElement channel) => new(
        Str(channel, "id") ?? "",
        Str(channel, "name") ?? "",
        Str(channel, "creator"),
        channel.TryGetProperty("created", out var created) && created.TryGetInt64(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null);

    internal static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack {Method} answered {Error}")]
    private static partial void LogApiError(ILogger logger, string method, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused to post to a response_url on {Host}, which is not Slack")]
    private static partial void LogRefusedResponseUrl(ILogger logger, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Posting to a response_url failed with HTTP {Status}")]
    private static partial void LogResponseUrlFailed(ILogger logger, int status);
}
