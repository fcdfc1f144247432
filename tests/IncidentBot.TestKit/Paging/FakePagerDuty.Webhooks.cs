using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Paging;

/// <summary>
/// PagerDuty's v3 webhook subscriptions, sending side: what PagerDuty posts when someone acknowledges or resolves an
/// incident there (<c>{"event": {id, event_type, resource_type, occurred_at, agent, client, data}}</c>), signed with
/// <c>X-PagerDuty-Signature: v1=&lt;hex HMAC-SHA256(body)&gt;</c> for every secret of the subscription (comma-separated
/// during a rotation), with <c>X-Webhook-Id</c> and <c>X-Webhook-Subscription</c> as PagerDuty adds them.
/// </summary>
public sealed partial class FakePagerDuty
{
    /// <summary>A subscription secret as PagerDuty shows it once, when the subscription is created.</summary>
    public const string WebhookSecret = "xQ3bFn0sVw9Jk2LpZr7Ty5Uc8Ha1Me4Gd6Ns0Pq2Rt5Vw8Yz1Bc3Df6Gh9Jk2Lm4";

    private static readonly HttpClient Sender = new() { Timeout = TimeSpan.FromSeconds(30) };

    private Uri? _webhookUrl;
    private string[] _webhookSecrets = [];

    /// <summary>Creates the webhook subscription: events go to <paramref name="url"/>, signed with each of <paramref name="secrets"/>.</summary>
    public void Subscribe(Uri url, params string[] secrets)
    {
        _webhookUrl = url;
        _webhookSecrets = secrets.Length == 0 ? [WebhookSecret] : secrets;
    }

    /// <summary><paramref name="user"/> acknowledged the incident opened by <paramref name="incidentKey"/> (a dedup_key), from the PagerDuty app.</summary>
    public Task<HttpResponseMessage> AcknowledgeAsync(string incidentKey, string user) =>
        SendWebhookAsync(IncidentEvent("incident.acknowledged", incidentKey, user));

    /// <summary><paramref name="user"/> resolved the incident opened by <paramref name="incidentKey"/> in PagerDuty.</summary>
    public Task<HttpResponseMessage> ResolveAsync(string incidentKey, string user) =>
        SendWebhookAsync(IncidentEvent("incident.resolved", incidentKey, user));

    /// <summary>
    /// Posts <paramref name="payload"/> to the subscription's URL with the signature header PagerDuty would send, or
    /// with <paramref name="signature"/> instead (an empty string sends no signature header at all).
    /// </summary>
    public async Task<HttpResponseMessage> SendWebhookAsync(JsonObject payload, string? signature = null)
    {
        var url = _webhookUrl ?? throw new InvalidOperationException("Subscribe first: PagerDuty sends webhooks only to a subscription's URL.");
        var body = payload.ToJsonString();
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.UserAgent.ParseAdd("PagerDuty-Webhook/V3.0");
        request.Headers.Add("X-Webhook-Id", Guid.NewGuid().ToString());
        request.Headers.Add("X-Webhook-Subscription", "PSUBSCR");
        signature ??= Signature(body, _webhookSecrets);
        if (signature.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("X-PagerDuty-Signature", signature);
        }

        return await Sender.SendAsync(request);
    }

    /// <summary>The <c>X-PagerDuty-Signature</c> value for <paramref name="body"/>: one <c>v1=</c> signature per secret, comma-separated.</summary>
    public static string Signature(string body, params string[] secrets) =>
        string.Join(',', secrets.Select(secret =>
            "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)))));

    /// <summary>
    /// A v3 webhook payload about the incident whose <c>incident_key</c> is <paramref name="incidentKey"/>, done by the
    /// user <paramref name="agent"/> (null: no agent, as for changes PagerDuty makes itself).
    /// </summary>
    public static JsonObject IncidentEvent(string eventType, string incidentKey, string? agent, DateTimeOffset? occurredAt = null, string? eventId = null)
    {
        var incidentId = "Q" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(incidentKey)))[..12];
        var status = eventType switch
        {
            "incident.acknowledged" => "acknowledged",
            "incident.resolved" => "resolved",
            _ => "triggered",
        };
        return new JsonObject
        {
            ["event"] = new JsonObject
            {
                ["id"] = eventId ?? Guid.NewGuid().ToString("N"),
                ["event_type"] = eventType,
                ["resource_type"] = "incident",
                ["occurred_at"] = (occurredAt ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["agent"] = agent is null ? null : new JsonObject
                {
                    ["html_url"] = "https://acme.pagerduty.com/users/PLH1HKV",
                    ["id"] = "PLH1HKV",
                    ["self"] = "https://api.pagerduty.com/users/PLH1HKV",
                    ["summary"] = agent,
                    ["type"] = "user_reference",
                },
                ["client"] = new JsonObject { ["name"] = "PagerDuty" },
                ["data"] = new JsonObject
                {
                    ["id"] = incidentId,
                    ["type"] = "incident",
                    ["self"] = $"https://api.pagerduty.com/incidents/{incidentId}",
                    ["html_url"] = $"https://acme.pagerduty.com/incidents/{incidentId}",
                    ["number"] = 2,
                    ["status"] = status,
                    ["incident_key"] = incidentKey,
                    ["created_at"] = DateTimeOffset.UtcNow.AddMinutes(-5).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    ["title"] = "Checkout is down",
                    ["service"] = new JsonObject { ["id"] = "PF9KMXH", ["summary"] = "Checkout", ["type"] = "service_reference" },
                    ["assignees"] = new JsonArray(),
                    ["escalation_policy"] = new JsonObject { ["id"] = "PUS0KTE", ["summary"] = "Default", ["type"] = "escalation_policy_reference" },
                    ["urgency"] = "high",
                    ["resolve_reason"] = null,
                },
            },
        };
    }
}
