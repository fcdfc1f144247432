using System.Security.Cryptography;
using System.Text;

namespace IncidentBot.Paging;

/// <summary>Standard Webhooks signing: <c>v1,</c> + base64 HMAC-SHA256 of <c>id.timestamp.body</c> with the secret after <c>whsec_</c>.</summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    public static bool TryDecodeSecret(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var buffer = new byte[secret.Length];
        if (!Convert.TryFromBase64String(secret[SecretPrefix.Length..], buffer, out var written) || written < 16)
        {
            return false;
        }

        key = buffer[..written];
        return true;
    }

    public static string Sign(byte[] key, string id, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }
}
