using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace IncidentBot.Slack.WebApi;

/// <summary>
/// The Web API over HTTP: JSON bodies with a Bearer token, 429 honouring Retry-After, 5xx and network
/// errors retried with backoff, <c>ok:false</c> surfaced as <see cref="SlackApiException"/>. Every attempt is
/// counted in <see cref="IncidentBotTelemetry.OutboundCalls"/> (outcome ok, error, rate_limited or failed).
/// </summary>
public sealed partial class SlackApiClient(
    HttpClient http,
    IOptions<SlackOptions> options,
    SlackRetryPipeline retry,
    ChannelPacer pacer,
    TimeProvider time,
    ILogger<SlackApiClient> logger) : ISlackApi
{
    public const int InviteBatchSize = 100;

    /// <summary>The <c>method</c> tag of posts to an interaction's response_url and of file bytes sent to an upload URL.</summary>
    public const string ResponseUrlMethod = "response_url";

    public const string UploadMethod = "files.upload_url";

    /// <summary>A trigger_id is dead 3 s after the click, so a views call that takes longer cannot succeed.</summary>
    public static readonly TimeSpan TriggerLifetime = TimeSpan.FromMilliseconds(2500);

    private SlackOptions Options => options.Value;

    public async Task<SlackAuth> AuthTestAsync(CancellationToken cancellationToken)
    {
        var result = await CallAsync("auth.test", [], cancellationToken);
        return new SlackAuth(Str(result, "user_id") ?? "", Str(result, "bot_id"), Str(result, "team_id") ?? "")
        {
            EnterpriseId = Str(result, "enterprise_id"),
            IsEnterpriseInstall = result.TryGetProperty("is_enterprise_install", out var grid) && grid.ValueKind == JsonValueKind.True,
        };
    }

    public async Task<SlackChannel> CreateConversationAsync(string name, bool isPrivate, CancellationToken cancellationToken)
    {
        var result = await CallAsync("conversations.create", new JsonObject { ["name"] = name, ["is_private"] = isPrivate }, cancellationToken);
        return ReadChannel(result.GetProperty("channel"));
    }

    public async Task InviteAsync(string channel, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        foreach (var batch in userIds.Distinct(StringComparer.Ordinal).Chunk(InviteBatchSize))
        {
            try
            {
                await CallAsync("conversations.invite", new JsonObject { ["channel"] = channel, ["users"] = string.Join(',', batch), ["force"] = true }, cancellationToken);
            }
            catch (SlackApiException ex) when (ex.Error is "already_in_channel" or "cant_invite_self")
            {
                // The batch is already there (a redelivered event) or held only ourselves.
            }
        }
    }

    public Task SetTopicAsync(string channel, string topic, CancellationToken cancellationToken) =>
        CallAsync("conversations.setTopic", new JsonObject { ["channel"] = channel, ["topic"] = topic }, cancellationToken);

    public Task SetPurposeAsync(string channel, string purpose, CancellationToken cancellationToken) =>
        CallAsync("conversations.setPurpose", new JsonObject { ["channel"] = channel, ["purpose"] = purpose }, cancellationToken);

    public Task JoinAsync(string channel, CancellationToken cancellationToken) =>
        CallAsync("conversations.join", new JsonObject { ["channel"] = channel }, cancellationToken);

    public Task ArchiveAsync(string channel, CancellationToken cancellationToken) =>
        CallAsync("conversations.archive", new JsonObject { ["channel"] = channel }, cancellationToken);

    public async Task<bool> IsMemberAsync(string channel, string user, CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var args = new JsonObject { ["channel"] = channel, ["limit"] = 200 };
            if (cursor is not null)
            {
                args["cursor"] = cursor;
            }

            var page = await CallAsync("conversations.members", args, cancellationToken);
            if (page.GetProperty("members").EnumerateArray().Any(m => m.GetString() == user))
            {
                return true;
            }

            cursor = page.TryGetProperty("response_metadata", out var meta) ? Str(meta, "next_cursor") : null;
        }
        while (!string.IsNullOrEmpty(cursor));

        return false;
    }

    public async Task<SlackChannel?> FindChannelByNameAsync(string name, CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var args = new JsonObject { ["types"] = "public_channel,private_channel", ["exclude_archived"] = true, ["limit"] = 200 };
            if (cursor is not null)
            {
                args["cursor"] = cursor;
            }

            var page = await CallAsync("conversations.list", args, cancellationToken);
            foreach (var channel in page.GetProperty("channels").EnumerateArray())
            {
                if (Str(channel, "name") == name)
                {
                    return ReadChannel(channel);
                }
            }

            cursor = page.TryGetProperty("response_metadata", out var meta) ? Str(meta, "next_cursor") : null;
        }
        while (!string.IsNullOrEmpty(cursor));

        return null;
    }

    public async Task<string> PostMessageAsync(string channel, SlackMessage message, CancellationToken cancellationToken)
    {
        var args = message.ToJson();
        args["channel"] = channel;
        await using var turn = await pacer.WaitTurnAsync(channel, Options.ChannelPostInterval, cancellationToken);
        var result = await CallAsync("chat.postMessage", args, cancellationToken);
        return Str(result, "ts") ?? throw new SlackTransientException("chat.postMessage", "no ts in the answer");
    }

    public async Task UpdateMessageAsync(string channel, string ts, SlackMessage message, CancellationToken cancellationToken)
    {
        var args = message.ToJson();
        args["channel"] = channel;
        args["ts"] = ts;
        await using var turn = await pacer.WaitTurnAsync(channel, Options.ChannelPostInterval, cancellationToken);
        await CallAsync("chat.update", args, cancellationToken);
    }

    public Task PostEphemeralAsync(string channel, string user, SlackMessage message, CancellationToken cancellationToken)
    {
        var args = message.ToJson();
        args["channel"] = channel;
        args["user"] = user;
        return CallAsync("chat.postEphemeral", args, cancellationToken);
    }

    public async Task<string> GetPermalinkAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        var result = await CallAsync("chat.getPermalink", new JsonObject { ["channel"] = channel, ["message_ts"] = ts }, cancellationToken);
        return Str(result, "permalink") ?? "";
    }

    public async Task AddReactionAsync(string channel, string ts, string name, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("reactions.add", new JsonObject { ["channel"] = channel, ["timestamp"] = ts, ["name"] = name }, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Error == "already_reacted")
        {
        }
    }

    public Task AddBookmarkAsync(string channel, string title, Uri link, CancellationToken cancellationToken) =>
        CallAsync("bookmarks.add", new JsonObject { ["channel_id"] = channel, ["title"] = title, ["type"] = "link", ["link"] = link.ToString() }, cancellationToken);

    public async Task<string> OpenViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken)
    {
        // A trigger_id works once and only for 3 s: a retry could only fail, so this call is not retried.
        using var expiry = new CancellationTokenSource(TriggerLifetime, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        var result = await SendOnceAsync("views.open", new JsonObject { ["trigger_id"] = triggerId, ["view"] = view.DeepClone() }, Options.BotToken, deadline.Token);
        return result.TryGetProperty("view", out var opened) ? Str(opened, "id") ?? "" : "";
    }

    public Task UpdateViewAsync(string viewId, JsonObject view, CancellationToken cancellationToken) =>
        CallAsync("views.update", new JsonObject { ["view_id"] = viewId, ["view"] = view.DeepClone() }, cancellationToken);

    public async Task PushViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken)
    {
        using var expiry = new CancellationTokenSource(TriggerLifetime, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        await SendOnceAsync("views.push", new JsonObject { ["trigger_id"] = triggerId, ["view"] = view.DeepClone() }, Options.BotToken, deadline.Token);
    }

    public async Task<SlackUser?> GetUserAsync(string userId, CancellationToken cancellationToken)
    {
        try
        {
            var result = await CallAsync("users.info", new JsonObject { ["user"] = userId }, cancellationToken);
            var user = result.GetProperty("user");
            var profile = user.TryGetProperty("profile", out var p) ? p : default;
            var name = (profile.ValueKind == JsonValueKind.Object ? Str(profile, "display_name") is { Length: > 0 } display ? display : Str(profile, "real_name") : null)
                ?? Str(user, "real_name") ?? Str(user, "name") ?? userId;
            return new SlackUser(userId, name, user.TryGetProperty("is_bot", out var bot) && bot.ValueKind == JsonValueKind.True);
        }
        catch (SlackApiException ex) when (ex.Error is "user_not_found" or "users_not_found")
        {
            return null;
        }
    }

    public async Task<SlackHistoryMessage?> GetMessageAsync(string channel, string ts, CancellationToken cancellationToken)
    {
        var result = await CallAsync(
            "conversations.history",
            new JsonObject { ["channel"] = channel, ["latest"] = ts, ["oldest"] = ts, ["inclusive"] = true, ["limit"] = 1 },
            cancellationToken);
        foreach (var message in result.GetProperty("messages").EnumerateArray())
        {
            if (Str(message, "ts") == ts)
            {
                return new SlackHistoryMessage(ts, Str(message, "user"), Str(message, "text") ?? "", Str(message, "bot_id")) { Reactions = ReadReactions(message) };
            }
        }

        return null;
    }

    public Task<SlackMessagePage> GetHistoryAsync(string channel, string oldest, string? cursor, int limit, CancellationToken cancellationToken) =>
        PageAsync("conversations.history", new JsonObject { ["channel"] = channel, ["oldest"] = oldest }, cursor, limit, cancellationToken);

    public Task<SlackMessagePage> GetRepliesAsync(string channel, string threadTs, string oldest, string? cursor, int limit, CancellationToken cancellationToken) =>
        PageAsync("conversations.replies", new JsonObject { ["channel"] = channel, ["ts"] = threadTs, ["oldest"] = oldest }, cursor, limit, cancellationToken);

    private async Task<SlackMessagePage> PageAsync(string method, JsonObject arguments, string? cursor, int limit, CancellationToken cancellationToken)
    {
        arguments["limit"] = limit;
        if (!string.IsNullOrEmpty(cursor))
        {
            arguments["cursor"] = cursor;
        }

        var result = await CallAsync(method, arguments, cancellationToken);
        var messages = result.TryGetProperty("messages", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [];
        var next = result.TryGetProperty("response_metadata", out var meta) ? Str(meta, "next_cursor") : null;
        return new SlackMessagePage(messages, string.IsNullOrEmpty(next) ? null : next);
    }

    private static List<SlackReaction> ReadReactions(JsonElement message) =>
        message.TryGetProperty("reactions", out var reactions) && reactions.ValueKind == JsonValueKind.Array
            ? reactions.EnumerateArray()
                .Where(r => Str(r, "name") is not null)
                .Select(r => new SlackReaction(
                    Str(r, "name")!,
                    r.TryGetProperty("users", out var users) && users.ValueKind == JsonValueKind.Array
                        ? users.EnumerateArray().Where(u => u.ValueKind == JsonValueKind.String).Select(u => u.GetString()!).ToList()
                        : []))
                .ToList()
            : [];

    public async Task<Uri> OpenSocketModeConnectionAsync(CancellationToken cancellationToken)
    {
        var result = await retry.Pipeline.ExecuteAsync(
            async ct => await SendOnceAsync("apps.connections.open", [], Options.AppToken, ct),
            cancellationToken);
        return new Uri(Str(result, "url") ?? throw new SlackTransientException("apps.connections.open", "no url in the answer"));
    }

    public async Task RespondAsync(Uri responseUrl, SlackMessage message, CancellationToken cancellationToken)
    {
        if (!IsSlackResponseUrl(responseUrl))
        {
            LogRefusedResponseUrl(logger, responseUrl.Host);
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, responseUrl)
        {
            Content = new StringContent(message.ToJson().ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Options.Set(SlackHttpLogger.CarriesCapability, true);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Count(ResponseUrlMethod, "failed");
            throw;
        }

        using (response)
        {
            Count(ResponseUrlMethod, response.IsSuccessStatusCode ? "ok" : response.StatusCode == HttpStatusCode.TooManyRequests ? "rate_limited" : "failed");
            if (!response.IsSuccessStatusCode)
            {
                LogResponseUrlFailed(logger, (int)response.StatusCode);
            }
        }
    }

    public async Task<string> UploadFileAsync(string channel, SlackFileUpload file, CancellationToken cancellationToken)
    {
        var content = file.Content;
        var ticket = await CallWithFormAsync(
            "files.getUploadURLExternal", new JsonObject { ["filename"] = file.FileName, ["length"] = content.Length }, cancellationToken);
        var fileId = Str(ticket, "file_id") ?? throw new SlackTransientException("files.getUploadURLExternal", "no file_id in the answer");
        if (!Uri.TryCreate(Str(ticket, "upload_url"), UriKind.Absolute, out var uploadUrl) || !IsSlackUploadUrl(uploadUrl))
        {
            // The bytes of an incident document go nowhere but Slack's own upload service.
            throw new SlackApiException("files.getUploadURLExternal", "untrusted_upload_url");
        }

        await retry.Pipeline.ExecuteAsync(async ct => await SendBytesAsync(uploadUrl, file.FileName, content, ct), cancellationToken);

        var complete = new JsonObject
        {
            ["files"] = new JsonArray(new JsonObject { ["id"] = fileId, ["title"] = file.Title }),
            ["channel_id"] = channel,
        };
        if (file.ThreadTs is not null)
        {
            complete["thread_ts"] = file.ThreadTs;
        }

        if (file.InitialComment is not null)
        {
            complete["initial_comment"] = file.InitialComment;
        }

        await CallWithFormAsync("files.completeUploadExternal", complete, cancellationToken);
        return fileId;
    }

    public async Task<JsonElement> CallAsync(string method, JsonObject arguments, CancellationToken cancellationToken) =>
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

/// <summary>The retry policy shared by every Web API call: Retry-After on 429, exponential backoff otherwise.</summary>
public sealed partial class SlackRetryPipeline
{
    public SlackRetryPipeline(TimeProvider time, ILogger<SlackRetryPipeline> logger)
    {
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    SlackRateLimitedException or SlackTransientException or HttpRequestException => true,
                    OperationCanceledException => !args.Context.CancellationToken.IsCancellationRequested,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is SlackRateLimitedException limited ? limited.RetryAfter : (TimeSpan?)null),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();
    }

    public ResiliencePipeline Pipeline { get; }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying a Slack call (attempt {Attempt}) in {Delay}: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, string reason);
}

/// <summary>Keeps posts to one channel in order and about one per interval apart, as Slack displays them.</summary>
public sealed class ChannelPacer(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> WaitTurnAsync(string channel, TimeSpan interval, CancellationToken cancellationToken)
    {
        var lane = _lanes.GetOrAdd(channel, _ => new Lane());
        await lane.Gate.WaitAsync(cancellationToken);
        var wait = lane.NextAt - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            catch
            {
                lane.Gate.Release();
                throw;
            }
        }

        return new Turn(lane, time, interval);
    }

    private sealed class Lane
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public DateTimeOffset NextAt { get; set; }
    }

    private sealed class Turn(Lane lane, TimeProvider time, TimeSpan interval) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lane.NextAt = time.GetUtcNow() + interval;
            lane.Gate.Release();
            return ValueTask.CompletedTask;
        }
    }
}
