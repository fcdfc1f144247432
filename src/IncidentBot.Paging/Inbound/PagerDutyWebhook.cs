using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// PagerDuty v3 webhook subscriptions: <c>X-PagerDuty-Signature</c> is one or more comma-separated <c>v1=</c> + hex
/// HMAC-SHA256 of the raw body (several while a secret is rotated), and the body is <c>{"event": {id, event_type,
/// occurred_at, agent, data: {incident_key, …}}}</c> (developer.pagerduty.com, webhooks v3 overview and signatures).
/// </summary>
public static class PagerDutyWebhook
{
    public const string Name = "PagerDuty";
    public const string SignatureHeader = "X-PagerDuty-Signature";

    private const string Version = "v1=";
    private const int SignatureBytes = 32;

    /// <summary>True when any <c>v1=</c> signature in <paramref name="header"/> is the body's HMAC with <paramref name="secret"/>; compared in constant time.</summary>
    public static bool IsSigned(string secret, string? header, ReadOnlySpan<byte> body)
    {
        if (string.IsNullOrEmpty(header))
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[SignatureBytes];
        Span<byte> given = stackalloc byte[SignatureBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        var signed = false;
        foreach (var signature in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (signature.Length == Version.Length + (SignatureBytes * 2)
                && signature.StartsWith(Version, StringComparison.Ordinal)
                && Convert.FromHexString(signature.AsSpan(Version.Length), given, out _, out var written) == OperationStatus.Done
                && written == SignatureBytes)
            {
                // Every signature is compared, so the time taken does not tell which one (if any) matched.
                signed |= CryptographicOperations.FixedTimeEquals(expected, given);
            }
        }

        return signed;
    }

    /// <summary>The event in a signed body; throws <see cref="PagerPayloadException"/> when it is not a v3 webhook event.</summary>
    public static PagerWebhookEvent Parse(byte[] body)
    {
        using var document = Json.Parse(body);
        if (!document.RootElement.TryGetProperty("event", out var e) || e.ValueKind != JsonValueKind.Object)
        {
            throw new PagerPayloadException("the body has no event object");
        }

        var id = Json.String(e, "id") ?? throw new PagerPayloadException("the event has no id");
        var type = Json.String(e, "event_type") ?? throw new PagerPayloadException("the event has no event_type");
        if (!DateTimeOffset.TryParse(Json.String(e, "occurred_at"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var occurredAt))
        {
            throw new PagerPayloadException("the event has no valid occurred_at");
        }

        var data = e.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object ? d : default;
        var agent = e.TryGetProperty("agent", out var a) && a.ValueKind == JsonValueKind.Object ? a : default;
        var by = Json.String(agent, "summary") is { Length: > 0 } name ? new Person(Pagers.PagerDuty, Json.String(agent, "id") ?? name, name) : null;
        var change = type switch
        {
            "incident.acknowledged" => PagerAlertChange.Acknowledged,
            "incident.resolved" => PagerAlertChange.Resolved,
            _ => PagerAlertChange.Other,
        };
        return new PagerWebhookEvent(Name, id, type, change, Json.String(data, "incident_key"), by, occurredAt);
    }
}
