using System.Net.Http.Json;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Connector;

/// <summary>
/// One app's client-credentials token for one scope (RFC 6749 §4.4), cached until five minutes before it expires.
/// </summary>
/// <remarks>
/// Not MSAL: MSAL 4.92 refuses any authority that is not https ("The authority must use HTTPS scheme"), so
/// it cannot be pointed at the loopback http token issuers the tests run, and its cache reads the wall clock
/// rather than <see cref="TimeProvider"/>. The protocol is one form POST, so a small client keeps tests and
/// production on one path.
/// </remarks>
internal sealed partial class ClientCredentialsTokens(HttpClient http, TimeProvider time, ILogger logger, string audience) : IDisposable
{
    private static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _expiresAt;

    public async Task<string> GetTokenAsync(string endpoint, string clientId, string clientSecret, string scope, CancellationToken cancellationToken)
    {
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
                ["client_id"] = clientId,
                ["client_secret"] = clientSecret,
                ["scope"] = scope,
            });
            using var response = await http.PostAsync(new Uri(endpoint), form, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                LogTokenFailed(logger, audience, (int)response.StatusCode);
                throw new HttpRequestException($"The {audience} token endpoint answered {(int)response.StatusCode}.", null, response.StatusCode);
            }

            var body = await response.Content.ReadFromJsonAsync(TeamsJsonContext.Default.TokenResponse, cancellationToken);
            if (string.IsNullOrEmpty(body?.AccessToken))
            {
                throw new HttpRequestException($"The {audience} token endpoint returned no access_token.");
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

    /// <summary>Drops the cached token, e.g. after a call answered 401.</summary>
    public void Invalidate() => _token = null;

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: the {Audience} token endpoint answered {Status}; check Teams:AppId, Teams:AppPassword and Teams:TenantId")]
    private static partial void LogTokenFailed(ILogger logger, string audience, int status);
}
