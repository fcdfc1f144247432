using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Connector;

/// <summary>
/// Which service URLs the bot calls: Microsoft's Bot Connector hosts, the configured extras, and loopback in
/// local mode (the Agents Playground). Anything else is refused, so the bot's token never leaves Microsoft.
/// </summary>
public sealed class ServiceUrlPolicy(IOptions<TeamsOptions> options)
{
    private static readonly string[] MicrosoftSuffixes =
    [
        "botframework.com",
        "smba.trafficmanager.net",
        "teams.microsoft.com",
        "teams.microsoft.us",
        "botframework.us",
        "botframework.azure.us",
    ];

    public bool IsAllowed(string? serviceUrl)
    {
        if (!Uri.TryCreate(serviceUrl, UriKind.Absolute, out var uri))
        {
            return false;
        }

        var host = uri.Host;
        var extra = options.Value.AllowedServiceHosts ?? [];
        if (extra.Any(h => string.Equals(h, host, StringComparison.OrdinalIgnoreCase)))
        {
            return uri.Scheme == Uri.UriSchemeHttps || uri.IsLoopback;
        }

        if (uri.IsLoopback)
        {
            return options.Value.IsAnonymous;
        }

        return uri.Scheme == Uri.UriSchemeHttps && MicrosoftSuffixes.Any(s =>
            host.Equals(s, StringComparison.OrdinalIgnoreCase) || host.EndsWith("." + s, StringComparison.OrdinalIgnoreCase));
    }
}
