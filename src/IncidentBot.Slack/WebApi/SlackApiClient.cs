using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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

    public async Task<string> OpenViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken)
    {
        // A trigger_id works once and only for 3 s: a retry could only fail, so this call is not retried.
        using var expiry = new CancellationTokenSource(TriggerLifetime, time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        var result = await SendOnceAsync("views.open", new JsonObject { ["trigger_id"] = triggerId, ["view"] = view.DeepClone() }, Options.BotToken, deadline.Token);
        return result.TryGetProperty("view", out var opened) ? Str(opened, "id") ?? "" : "";
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
}
