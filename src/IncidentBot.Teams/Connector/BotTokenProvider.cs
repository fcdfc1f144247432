using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Connector;

/// <summary>Client-credentials tokens for the Bot Connector (scope <c>https://api.botframework.com/.default</c>).</summary>
public sealed class BotTokenProvider(HttpClient http, IOptions<TeamsOptions> options, TimeProvider time, ILogger<BotTokenProvider> logger) : IDisposable
{
    private readonly ClientCredentialsTokens _tokens = new(http, time, logger, "Bot Connector");

    /// <summary>The bearer token, or null in local mode (no app id: calls carry no token).</summary>
    public async Task<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        return settings.IsAnonymous
            ? null
            : await _tokens.GetTokenAsync(settings.EffectiveTokenEndpoint, settings.AppId, settings.AppPassword, settings.TokenScope, cancellationToken);
    }

    /// <summary>Drops the cached token, e.g. after the connector answered 401.</summary>
    public void Invalidate() => _tokens.Invalidate();

    public void Dispose() => _tokens.Dispose();
}
