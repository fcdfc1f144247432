using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Paging;

/// <summary>
/// The Opsgenie (and Jira Service Management Operations) outgoing Webhook integration, sending side: alert action data
/// (<c>{"source": {name, type}, "alert": {alertId, alias, username, updatedAt, …}, "action": "Acknowledge", …}</c>)
/// posted to the integration's URL with the custom headers configured there. Opsgenie signs nothing; a URL with
/// user information (<c>https://user:password@host/…</c>) is sent with basic authentication, as its integration does.
/// </summary>
public sealed partial class FakeOpsgenie
{
    /// <summary>A shared token, as an operator would generate it (openssl rand -hex 32).</summary>
    public const string WebhookToken = "5d0c3b8a7e6f41d2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6";

    private static readonly HttpClient Sender = new() { Timeout = TimeSpan.FromSeconds(30) };

    private Uri? _webhookUrl;
    private Dictionary<string, string> _webhookHeaders = [];

    /// <summary>Adds the Webhook integration: alert actions go to <paramref name="url"/> with <paramref name="headers"/>.</summary>
    public void AddWebhookIntegration(Uri url, IReadOnlyDictionary<string, string>? headers = null)
    {
        _webhookUrl = url;
        _webhookHeaders = new Dictionary<string, string>(headers ?? new Dictionary<string, string>());
    }

    /// <summary><paramref name="user"/> acknowledged the alert with <paramref name="alias"/> in the Opsgenie app.</summary>
    public Task<HttpResponseMessage> AcknowledgeAsync(string alias, string user) => SendWebhookAsync(AlertAction("Acknowledge", alias, user));

    /// <summary><paramref name="user"/> closed the alert with <paramref name="alias"/> in Opsgenie.</summary>
    public Task<HttpResponseMessage> CloseAsync(string alias, string user) => SendWebhookAsync(AlertAction("Close", alias, user));

    public async Task<HttpResponseMessage> SendWebhookAsync(JsonObject payload)
    {
        var url = _webhookUrl ?? throw new InvalidOperationException("Add the Webhook integration first.");
        using var request = new HttpRequestMessage(HttpMethod.Post, new UriBuilder(url) { UserName = "", Password = "" }.Uri)
        {
            Content = new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (url.UserInfo.Length > 0)
        {
            var credentials = Uri.UnescapeDataString(url.UserInfo);
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }

        foreach (var (name, value) in _webhookHeaders)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await Sender.SendAsync(request);
    }

    /// <summary>Alert action data for <paramref name="action"/> (Acknowledge, Close, AddNote, …) done by <paramref name="user"/>.</summary>
    public static JsonObject AlertAction(string action, string alias, string user, string? alertId = null, long? updatedAtNanos = null)
    {
        var now = DateTimeOffset.UtcNow;
        return new JsonObject
        {
            ["source"] = new JsonObject { ["name"] = "", ["type"] = "mobile" },
            ["alert"] = new JsonObject
            {
                ["updatedAt"] = updatedAtNanos ?? (now.ToUnixTimeMilliseconds() * 1_000_000) + Random.Shared.Next(1_000_000),
                ["tags"] = new JsonArray("incidentbot", "sev1"),
                ["message"] = "INC-1 SEV1: Checkout is down",
                ["username"] = user,
                ["alertId"] = alertId ?? Guid.NewGuid().ToString(),
                ["source"] = user,
                ["alias"] = alias,
                ["tinyId"] = "23",
                ["createdAt"] = now.AddMinutes(-5).ToUnixTimeMilliseconds(),
                ["userId"] = "daed1180-0ce8-438b-8f8e-57e1a5920a2d",
                ["entity"] = "INC-1",
            },
            ["action"] = action,
            ["integrationId"] = "37c8f316-17c6-49d7-899b-9c7e540c048d",
            ["integrationName"] = "IncidentBot",
        };
    }
}
