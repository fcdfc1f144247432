namespace IncidentBot.Slack.WebApi;

/// <summary>
/// Some URLs are credentials: whoever holds a Slack <c>response_url</c> or a file-upload URL may post with them.
/// Logs and traces keep only what identifies the call (scheme, host and the first path segment).
/// </summary>
public static class CapabilityUrls
{
    /// <summary>Hosts whose URLs carry a capability in their path.</summary>
    private static readonly string[] CapabilityHosts = ["hooks.slack.com", "files.slack.com", "uploads.slack.com"];

    /// <summary>True when <paramref name="url"/> grants access by itself and must not be written down whole.</summary>
    public static bool IsCapability(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.IsAbsoluteUri && CapabilityHosts.Any(h => url.Host.Equals(h, StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith("." + h, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// <paramref name="url"/> as it may be logged: capability URLs cut to scheme, host and first path segment,
    /// and any query string replaced (tokens travel there too).
    /// </summary>
    public static string Redact(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return "(relative)";
        }

        var path = url.AbsolutePath;
        if (IsCapability(url))
        {
            var first = path.TrimStart('/').Split('/', 2)[0];
            path = "/" + first + (path.TrimStart('/').Length > first.Length ? "/[redacted]" : "");
        }

        return $"{url.Scheme}://{url.Authority}{path}{(url.Query.Length > 1 ? "?[redacted]" : "")}";
    }
}
