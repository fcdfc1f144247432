using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IncidentBot.Core.Incidents;
using Microsoft.AspNetCore.Http;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// The Opsgenie / Jira Service Management Operations outgoing Webhook integration. It signs nothing; it sends the
/// custom headers configured on it, and basic authentication for a URL with user information, so the shared token
/// arrives as <c>X-IncidentBot-Token</c>, as a bearer token or as the basic-auth password. The body is the alert action
/// data: <c>{"action": "Acknowledge"|"Close"|…, "alert": {alertId, alias, username, updatedAt, …}, "source": {…}}</c>.
/// </summary>
public static class OpsgenieWebhook
{
    public const string Name = "Opsgenie";
    public const string TokenHeader = "X-IncidentBot-Token";

    /// <summary>True when any place the token may travel holds <paramref name="token"/>; compared in constant time.</summary>
    public static bool IsAuthorized(string token, IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        // Hashes are compared so that neither the token's length nor a common prefix shows in the timing.
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        var authorized = false;
        foreach (var candidate in Candidates(headers))
        {
            authorized |= CryptographicOperations.FixedTimeEquals(expected, SHA256.HashData(Encoding.UTF8.GetBytes(candidate)));
        }

        return authorized;
    }

    private static IEnumerable<string> Candidates(IHeaderDictionary headers)
    {
        foreach (var value in headers[TokenHeader])
        {
            if (!string.IsNullOrEmpty(value))
            {
                yield return value;
            }
        }

        foreach (var value in headers.Authorization)
        {
            if (!AuthenticationHeaderValue.TryParse(value, out var authorization) || authorization.Parameter is not { Length: > 0 } parameter)
            {
                continue;
            }

            if (authorization.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                yield return parameter;
            }
            else if (authorization.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && Password(parameter) is { } password)
            {
                yield return password;
            }
        }
    }

    private static string? Password(string basic)
    {
        var buffer = new byte[basic.Length];
        if (!Convert.TryFromBase64String(basic, buffer, out var written))
        {
            return null;
        }

        var credentials = Encoding.UTF8.GetString(buffer, 0, written);
        var colon = credentials.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : credentials[(colon + 1)..];
    }

    /// <summary>The alert action in an authorized body; throws <see cref="PagerPayloadException"/> when it is not alert action data.</summary>
    public static PagerWebhookEvent Parse(byte[] body, DateTimeOffset receivedAt)
    {
        using var document = Json.Parse(body);
        var root = document.RootElement;
        var action = Json.String(root, "action") ?? throw new PagerPayloadException("the body has no action");
        if (!root.TryGetProperty("alert", out var alert) || alert.ValueKind != JsonValueKind.Object)
        {
            throw new PagerPayloadException("the body has no alert object");
        }

        var updatedAt = alert.TryGetProperty("updatedAt", out var u) && u.ValueKind == JsonValueKind.Number && u.TryGetInt64(out var value) ? value : (long?)null;
        var alertId = Json.String(alert, "alertId");
        // Opsgenie sends no event id; the alert, the action and the alert's update time (nanoseconds) name one action.
        var eventId = alertId is not null && updatedAt is not null
            ? string.Create(CultureInfo.InvariantCulture, $"{alertId}:{action}:{updatedAt}")
            : Convert.ToHexStringLower(SHA256.HashData(body));
        var name = Json.String(alert, "username") is { Length: > 0 } user ? user
            : root.TryGetProperty("source", out var source) && Json.String(source, "name") is { Length: > 0 } sourceName ? sourceName
            : null;
        var change = action switch
        {
            "Acknowledge" => PagerAlertChange.Acknowledged,
            "Close" => PagerAlertChange.Resolved,
            _ => PagerAlertChange.Other,
        };
        return new PagerWebhookEvent(
            Name,
            eventId,
            action,
            change,
            Json.String(alert, "alias"),
            name is null ? null : new Person(Pagers.Opsgenie, Json.String(alert, "userId") ?? name, name),
            FromEpoch(updatedAt) ?? receivedAt);
    }

    // Opsgenie documents updatedAt in nanoseconds (createdAt in milliseconds); either is read, anything else is not a time.
    private static DateTimeOffset? FromEpoch(long? value) => value switch
    {
        >= 100_000_000_000_000_000 => DateTimeOffset.UnixEpoch.AddTicks(value.Value / 100),
        >= 100_000_000_000 and < 100_000_000_000_000 => DateTimeOffset.FromUnixTimeMilliseconds(value.Value),
        _ => null,
    };
}

/// <summary>Small readers shared by the webhook parsers.</summary>
internal static class Json
{
    public static JsonDocument Parse(byte[] body)
    {
        try
        {
            var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
        }
        catch (JsonException)
        {
            // Reported below, as for a body that is JSON but not an object.
        }

        throw new PagerPayloadException("the body is not a JSON object");
    }

    public static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
