using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace IncidentBot.Paging.Tests;

/// <summary>
/// A receiver's check, written from the Standard Webhooks specification rather than from our signer:
/// space-separated <c>v1,&lt;base64&gt;</c> signatures over <c>msg_id.timestamp.payload</c>, HMAC-SHA256 keyed with the
/// base64-decoded secret after <c>whsec_</c>, compared in constant time, timestamp within five minutes.
/// </summary>
internal static class StandardWebhooksVerifier
{
    public static bool Verify(string secret, IReadOnlyDictionary<string, string> headers, string payload, DateTimeOffset now)
    {
        if (!headers.TryGetValue("webhook-id", out var id)
            || !headers.TryGetValue("webhook-timestamp", out var timestampText)
            || !headers.TryGetValue("webhook-signature", out var signatures)
            || !long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return false;
        }

        if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > 5 * 60)
        {
            return false;
        }

        using var hmac = new HMACSHA256(Convert.FromBase64String(secret.Split('_', 2)[1]));
        var expected = hmac.ComputeHash(Encoding.UTF8.GetBytes(id + "." + timestampText + "." + payload));
        foreach (var signature in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = signature.Split(',', 2);
            if (parts is ["v1", var value] && CryptographicOperations.FixedTimeEquals(expected, Convert.FromBase64String(value)))
            {
                return true;
            }
        }

        return false;
    }
}
