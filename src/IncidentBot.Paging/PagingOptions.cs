using System.Net;

namespace IncidentBot.Paging;

/// <summary>Pager endpoints and credentials under <c>Paging:*</c>; a provider is on when its credential is set.</summary>
public sealed class PagingOptions
{
    public const string Section = "Paging";

    public PagerDutyOptions PagerDuty { get; set; } = new();
    public OpsgenieOptions Opsgenie { get; set; } = new();
    public WebhookOptions Webhook { get; set; } = new();

    /// <summary>
    /// Whether an alert resolved in a pager (reported by its webhook) resolves the incident. Off by default: an alert
    /// resolving is not the incident being over, so it is only recorded in the timeline.
    /// </summary>
    public bool ResolveIncidentFromPager { get; set; }

    /// <summary>Tries per request, the first included; 429, 5xx and network errors are retried, 4xx never.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first back-off; doubled on every retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between tries, also the cap on a server's Retry-After.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a claim on a page lasts; a live sender renews it every third of this. A claim that runs out belonged to
    /// a sender that died: the page is sent again (same key) within about this long of the crash.
    /// </summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper looks for pages whose sender died, besides waking when a known claim runs out.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class PagerDutyOptions
{
    public string EventsUrl { get; set; } = "https://events.pagerduty.com/v2/enqueue";
    public string? RoutingKey { get; set; }

    /// <summary>Integration keys of further services, by the name a target uses: <c>pagerduty:payments</c> pages <c>RoutingKeys:payments</c>.</summary>
    public Dictionary<string, string> RoutingKeys { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(RoutingKey) || RoutingKeys.Values.Any(k => !string.IsNullOrWhiteSpace(k));

    /// <summary>The integration key of <paramref name="service"/> (null: the default service), or null when none is set.</summary>
    public string? RoutingKeyFor(string? service) =>
        service is null ? (string.IsNullOrWhiteSpace(RoutingKey) ? null : RoutingKey)
        : RoutingKeys.TryGetValue(service, out var key) && !string.IsNullOrWhiteSpace(key) ? key : null;

    /// <summary>The secret of the v3 webhook subscription (shown once when it is created); set turns on <c>POST /paging/pagerduty</c>.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>
    /// Events that occurred longer ago than this are refused as stale (401). PagerDuty retries a delivery for up to
    /// 48 hours; event ids are remembered for longer than this window, so a replay within it has no second effect.
    /// </summary>
    public TimeSpan WebhookMaxAge { get; set; } = TimeSpan.FromHours(48);

    public bool IsWebhookConfigured => !string.IsNullOrWhiteSpace(WebhookSecret);
}

public sealed class OpsgenieOptions
{
    /// <summary>
    /// The API base: https://api.opsgenie.com, https://api.eu.opsgenie.com for EU accounts, or
    /// https://api.atlassian.com/jsm/ops/integration for Jira Service Management Operations (its integration API takes
    /// the same requests, with the key of a JSM API integration).
    /// </summary>
    public string ApiUrl { get; set; } = "https://api.opsgenie.com";
    public string? ApiKey { get; set; }
    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKey);

    /// <summary>
    /// Opsgenie (or JSM) usernames by chat user id (Slack <c>U…</c> id, Teams AAD object id), so <c>page @user</c> can
    /// page that person as a user responder. Someone not listed cannot be paged by name.
    /// </summary>
    public Dictionary<string, string> Users { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The shared token the outgoing Webhook integration sends (header <c>X-IncidentBot-Token</c>, a bearer token, or the
    /// basic-auth password); set turns on <c>POST /paging/opsgenie</c>.
    /// </summary>
    public string? WebhookToken { get; set; }

    public bool IsWebhookConfigured => !string.IsNullOrWhiteSpace(WebhookToken);
}

public sealed class WebhookOptions
{
    public string? Url { get; set; }

    /// <summary>A Standard Webhooks secret: <c>whsec_</c> followed by base64.</summary>
    public string? Secret { get; set; }
    public bool IsConfigured => !string.IsNullOrWhiteSpace(Url);
}

/// <summary>The escalation policy under <c>Escalation:*</c>.</summary>
public sealed class EscalationOptions
{
    public const string Section = "Escalation";

    /// <summary>Declaring at these severities pages at once; empty means SEV1 and SEV2, <c>none</c> means never.</summary>
    public List<string> PageSeverities { get; set; } = [];

    /// <summary>Ordered levels; empty means one level with every configured pager.</summary>
    public List<EscalationLevelOptions> Levels { get; set; } = [];

    /// <summary>How many times the whole chain is paged again after its last level.</summary>
    public int Repeat { get; set; }

    /// <summary>Wait after the last level before the chain starts again from the first (when <see cref="Repeat"/> allows).</summary>
    public TimeSpan RepeatDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether lowering an incident below every paging severity stops the levels not yet paged.</summary>
    public bool StopOnDowngrade { get; set; } = true;
}

public sealed class EscalationLevelOptions
{
    /// <summary>How long after the previous level (for the first level: after the escalation started) this level is paged.</summary>
    public TimeSpan Delay { get; set; }
    public List<string> Targets { get; set; } = [];
}

internal static class EndpointRules
{
    /// <summary>https anywhere; plain http only for loopback (tests, local relays).</summary>
    public static bool IsAcceptable(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)));

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
