using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Slack;

/// <summary>Signs requests the way Slack does: <c>v0=</c> HMAC-SHA256 of <c>v0:{timestamp}:{body}</c>, lowercase hex.</summary>
public sealed class SlackSigner(string signingSecret)
{
    public const string TestSecret = "8f742231b10e8888abcd99yyyzzz85a5";

    public string Signature(string timestamp, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret), Encoding.UTF8.GetBytes($"v0:{timestamp}:{body}"));
        return "v0=" + Convert.ToHexString(mac).ToLowerInvariant();
    }

    /// <summary>A signed POST; <paramref name="at"/> is the signing time (now by default).</summary>
    public HttpRequestMessage Request(string path, string body, string contentType, DateTimeOffset? at = null, string? signature = null)
    {
        var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", signature ?? Signature(timestamp, body));
        return request;
    }

    public HttpRequestMessage Form(string path, IEnumerable<KeyValuePair<string, string>> fields, DateTimeOffset? at = null) =>
        Request(path, SlackPayloads.FormEncode(fields), "application/x-www-form-urlencoded", at);

    public HttpRequestMessage Json(string path, JsonNode body, DateTimeOffset? at = null) =>
        Request(path, body.ToJsonString(), "application/json", at);

    /// <summary>An interactivity request: the JSON payload in a <c>payload</c> form field.</summary>
    public HttpRequestMessage Interaction(JsonObject payload, DateTimeOffset? at = null) =>
        Form("/slack/interactions", [new("payload", payload.ToJsonString())], at);
}

/// <summary>Payloads shaped like Slack's (slash commands, Events API callbacks, interactivity).</summary>
public static class SlackPayloads
{
    private static int _eventCounter;

    public static string FormEncode(IEnumerable<KeyValuePair<string, string>> fields) =>
        string.Join('&', fields.Select(f => $"{Uri.EscapeDataString(f.Key)}={Uri.EscapeDataString(f.Value)}".Replace("%20", "+", StringComparison.Ordinal)));

    public static IReadOnlyList<KeyValuePair<string, string>> Command(string text, string userId, string userName, string channelId, string? triggerId = null, Uri? responseUrl = null) =>
    [
        new("token", "deprecated-verification-token"),
        new("team_id", FakeSlackServer.TeamId),
        new("team_domain", "fake"),
        new("channel_id", channelId),
        new("channel_name", "general"),
        new("user_id", userId),
        new("user_name", userName),
        new("command", "/incident"),
        new("text", text),
        new("api_app_id", FakeSlackServer.AppId),
        new("response_url", responseUrl?.ToString() ?? "https://hooks.slack.com/commands/T/1/x"),
        new("trigger_id", triggerId ?? $"trigger-{Guid.NewGuid():N}"),
    ];

    /// <summary>The slash-command fields as the JSON object a Socket Mode <c>slash_commands</c> envelope carries.</summary>
    public static JsonObject CommandObject(IEnumerable<KeyValuePair<string, string>> fields)
    {
        var json = new JsonObject();
        foreach (var (key, value) in fields)
        {
            json[key] = value;
        }

        return json;
    }

    public static string NewEventId() => $"Ev{Interlocked.Increment(ref _eventCounter):D8}{Guid.NewGuid().ToString("N")[..6].ToUpperInvariant()}";

    public static JsonObject EventCallback(JsonObject inner, string? eventId = null) => new()
    {
        ["token"] = "deprecated-verification-token",
        ["team_id"] = FakeSlackServer.TeamId,
        ["api_app_id"] = FakeSlackServer.AppId,
        ["event"] = inner,
        ["type"] = "event_callback",
        ["event_id"] = eventId ?? NewEventId(),
        ["event_time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["authorizations"] = new JsonArray(new JsonObject
        {
            ["team_id"] = FakeSlackServer.TeamId,
            ["user_id"] = FakeSlackServer.BotUserId,
            ["is_bot"] = true,
            ["is_enterprise_install"] = false,
        }),
    };

    public static JsonObject Message(string channel, string user, string ts, string text, string? threadTs = null, string? subtype = null)
    {
        var message = new JsonObject
        {
            ["type"] = "message",
            ["channel"] = channel,
            ["user"] = user,
            ["text"] = text,
            ["ts"] = ts,
            ["event_ts"] = ts,
            ["channel_type"] = "channel",
        };
        if (threadTs is not null)
        {
            message["thread_ts"] = threadTs;
        }

        if (subtype is not null)
        {
            message["subtype"] = subtype;
        }

        return message;
    }

    public static JsonObject AppMention(string channel, string user, string ts, string text) => new()
    {
        ["type"] = "app_mention",
        ["channel"] = channel,
        ["user"] = user,
        ["text"] = $"<@{FakeSlackServer.BotUserId}> {text}",
        ["ts"] = ts,
        ["event_ts"] = ts,
    };

    public static JsonObject MessageChanged(string channel, string ts, string user, string oldText, string newText) => new()
    {
        ["type"] = "message",
        ["subtype"] = "message_changed",
        ["hidden"] = true,
        ["channel"] = channel,
        ["ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ".000100",
        ["message"] = new JsonObject { ["type"] = "message", ["user"] = user, ["text"] = newText, ["ts"] = ts, ["edited"] = new JsonObject { ["user"] = user, ["ts"] = ts } },
        ["previous_message"] = new JsonObject { ["type"] = "message", ["user"] = user, ["text"] = oldText, ["ts"] = ts },
    };

    public static JsonObject MessageDeleted(string channel, string ts) => new()
    {
        ["type"] = "message",
        ["subtype"] = "message_deleted",
        ["hidden"] = true,
        ["channel"] = channel,
        ["ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ".000200",
        ["deleted_ts"] = ts,
    };

    public static JsonObject Reaction(bool added, string user, string reaction, string channel, string ts) => new()
    {
        ["type"] = added ? "reaction_added" : "reaction_removed",
        ["user"] = user,
        ["reaction"] = reaction,
        ["item_user"] = "UAUTHOR",
        ["item"] = new JsonObject { ["type"] = "message", ["channel"] = channel, ["ts"] = ts },
        ["event_ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ".000300",
    };

    public static JsonObject BlockAction(string userId, string userName, string channel, string blockId, JsonObject action, Uri? responseUrl = null)
    {
        action["block_id"] = blockId;
        action["action_ts"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + ".000400";
        return new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = userId, ["username"] = userName, ["name"] = userName, ["team_id"] = FakeSlackServer.TeamId },
            ["api_app_id"] = FakeSlackServer.AppId,
            ["team"] = new JsonObject { ["id"] = FakeSlackServer.TeamId },
            ["channel"] = new JsonObject { ["id"] = channel, ["name"] = "war-room" },
            ["container"] = new JsonObject { ["type"] = "message", ["channel_id"] = channel },
            ["trigger_id"] = $"trigger-{Guid.NewGuid():N}",
            ["response_url"] = responseUrl?.ToString(),
            ["actions"] = new JsonArray(action),
        };
    }

    public static JsonObject UsersSelectAction(string actionId, string selectedUser) =>
        new() { ["type"] = "users_select", ["action_id"] = actionId, ["selected_user"] = selectedUser };

    public static JsonObject StaticSelectAction(string actionId, string value) =>
        new() { ["type"] = "static_select", ["action_id"] = actionId, ["selected_option"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = value }, ["value"] = value } };

    public static JsonObject ButtonAction(string actionId, string value) =>
        new() { ["type"] = "button", ["action_id"] = actionId, ["value"] = value, ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = actionId } };

    public static JsonObject ViewSubmission(string userId, string userName, string callbackId, string privateMetadata, JsonObject values) => new()
    {
        ["type"] = "view_submission",
        ["user"] = new JsonObject { ["id"] = userId, ["username"] = userName, ["name"] = userName },
        ["team"] = new JsonObject { ["id"] = FakeSlackServer.TeamId },
        ["view"] = new JsonObject
        {
            ["id"] = "VFAKE",
            ["type"] = "modal",
            ["callback_id"] = callbackId,
            ["private_metadata"] = privateMetadata,
            ["state"] = new JsonObject { ["values"] = values },
        },
    };

    public static JsonObject MessageShortcut(string userId, string userName, string callbackId, string channel, string ts, string author, string text, Uri? responseUrl = null) => new()
    {
        ["type"] = "message_action",
        ["callback_id"] = callbackId,
        ["trigger_id"] = $"trigger-{Guid.NewGuid():N}",
        ["user"] = new JsonObject { ["id"] = userId, ["name"] = userName },
        ["team"] = new JsonObject { ["id"] = FakeSlackServer.TeamId },
        ["channel"] = new JsonObject { ["id"] = channel, ["name"] = "war-room" },
        ["message"] = new JsonObject { ["type"] = "message", ["user"] = author, ["text"] = text, ["ts"] = ts },
        ["response_url"] = responseUrl?.ToString(),
    };
}
