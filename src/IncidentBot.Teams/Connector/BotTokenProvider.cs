using System.Net.Http.Json;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Connector;

/// <summary>
/// Client-credentials tokens for the Bot Connector (scope <c>https://api.botframework.com/.default</c>),
/// cached until five minutes before they expire.
/// </summary>
/// <remarks>
/// Not MSAL: MSAL 4.92 refuses any authority that is not https ("The authority must use HTTPS scheme"), so
/// it cannot be pointed at the loopback http token issuer the tests run, and its cache reads the wall clock
/// rather than <see cref="TimeProvider"/>. The protocol is one form POST (RFC 6749 §4.4), so a small client
/// keeps tests and production on one path.
/// </remarks>
public sealed partial class BotTokenProvider(HttpClient http, IOptions<TeamsOptions> options, TimeProvider time, ILogger<BotTokenProvider> logger) : IDisposable
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _expiresAt;

    /// <summary>The bearer token, or null in local mode (no app id: calls carry no token).</summary>
    public async Task<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.IsAnonymous)
        {
            return null;
        }

        if (_token is { } cached && time.GetUtcNow() < _expiresAt - RefreshMargin)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_token is { } fresh && time.GetUtcNow() < _expiresAt - RefreshMargin)
            {
                return fresh;
            }

            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = settings.AppId,
                ["client_secret"] = settings.AppPassword,
                ["scope"] = settings.TokenScope,
            });
            using var response = await http.PostAsync(new Uri(settings.EffectiveTokenEndpoint), form, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                LogTokenFailed(logger, (int)response.StatusCode);
                throw new HttpRequestException($"The token endpoint answered {(int)response.StatusCode}.", null, response.StatusCode);
            }

            var body = await response.Content.ReadFromJsonAsync(TeamsJsonContext.Default.TokenResponse, cancellationToken);
            if (string.IsNullOrEmpty(body?.AccessToken))
            {
                throw new HttpRequestException("The token endpoint returned no access_token.");
            }

            _token = body.AccessToken;
            _expiresAt = time.GetUtcNow() + TimeSpan.FromSeconds(body.ExpiresIn ?? 3600);
            return _token;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Drops the cached token, e.g. after the connector answered 401.</summary>
    public void Invalidate() => _token = null;

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: the token endpoint answered {Status}; check Teams:AppId, Teams:AppPassword and Teams:TenantId")]
    private static partial void LogTokenFailed(ILogger logger, int status);
}
