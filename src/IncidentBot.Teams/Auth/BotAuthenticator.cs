using System.Text.Json;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace IncidentBot.Teams.Auth;

public enum AuthOutcome
{
    /// <summary>A valid Bot Framework token.</summary>
    Authenticated,

    /// <summary>Local mode (no app id) and no Authorization header.</summary>
    Anonymous,

    /// <summary>Missing or invalid token: 401.</summary>
    Unauthorized,

    /// <summary>A valid token that may not speak for this activity (channel not endorsed, tenant not allowed): 403.</summary>
    Forbidden,

    /// <summary>The signing keys could not be loaded at all: 503, so the Bot Connector delivers the activity again.</summary>
    Unavailable,
}

public sealed record AuthResult(AuthOutcome Outcome, string Reason)
{
    public bool Succeeded => Outcome is AuthOutcome.Authenticated or AuthOutcome.Anonymous;
}

/// <summary>
/// Checks the bearer token the Bot Connector sends with every activity, the way Bot Framework specifies:
/// keys from the OpenID metadata (cached, refreshed), issuer, audience = our app id, lifetime with 5 minutes
/// of skew, RS256, the <c>serviceurl</c> claim against the activity, and the signing key's endorsements
/// against the activity's channel.
/// </summary>
public sealed partial class BotAuthenticator : IDisposable
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    // Bot Framework: refresh the keys at least every 24 hours, since new keys can appear at any time.
    private static readonly TimeSpan MetadataLifetime = TimeSpan.FromHours(12);

    // A token signed with a key we do not know fetches the keys again, but not more often than this, so
    // made-up key ids cannot turn every request into a metadata download.
    private static readonly TimeSpan MinForcedRefreshInterval = TimeSpan.FromMinutes(1);

    private readonly TeamsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BotAuthenticator> _logger;
    private readonly HttpDocumentRetriever _retriever;
    private readonly SemaphoreSlim _metadataGate = new(1, 1);
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private OpenIdConnectConfiguration? _metadata;
    private DateTimeOffset _fetchedAt;
    private DateTimeOffset _forcedAt = DateTimeOffset.MinValue;

    public BotAuthenticator(IOptions<TeamsOptions> options, IHttpClientFactory httpClients, TimeProvider time, ILogger<BotAuthenticator> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _retriever = new HttpDocumentRetriever(httpClients.CreateClient(nameof(BotAuthenticator)))
        {
            // The options validator allows plain http only for loopback (test fakes).
            RequireHttps = !new Uri(_options.OpenIdMetadataUrl).IsLoopback,
        };
    }

    public async Task<AuthResult> AuthenticateAsync(string? authorization, Activity activity, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return _options.IsAnonymous
                ? new AuthResult(AuthOutcome.Anonymous, "local mode")
                : new AuthResult(AuthOutcome.Unauthorized, "no Authorization header");
        }

        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length <= 7)
        {
            return new AuthResult(AuthOutcome.Unauthorized, "Authorization is not a Bearer token");
        }

        var token = authorization[7..].Trim();
        string? keyId;
        try
        {
            keyId = _handler.ReadJsonWebToken(token).Kid;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenMalformedException)
        {
            return new AuthResult(AuthOutcome.Unauthorized, "malformed token");
        }

        OpenIdConnectConfiguration metadata;
        try
        {
            metadata = await GetMetadataAsync(force: false, cancellationToken);
            if (!string.IsNullOrEmpty(keyId) && !HasKey(metadata, keyId))
            {
                metadata = await GetMetadataAsync(force: true, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogMetadataUnavailable(_logger, ex);
            return new AuthResult(AuthOutcome.Unavailable, "signing keys unavailable");
        }

        var result = await ValidateAsync(token, metadata);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return new AuthResult(AuthOutcome.Unauthorized, Describe(result.Exception));
        }

        if (!jwt.TryGetPayloadValue<string>("serviceurl", out var serviceUrl) || string.IsNullOrEmpty(serviceUrl))
        {
            return new AuthResult(AuthOutcome.Unauthorized, "missing serviceurl claim");
        }

        if (!string.Equals(serviceUrl, activity.ServiceUrl, StringComparison.OrdinalIgnoreCase))
        {
            return new AuthResult(AuthOutcome.Unauthorized, "serviceurl claim does not match the activity's serviceUrl");
        }

        if (!IsEndorsed(metadata, jwt.SigningKey?.KeyId, activity.ChannelId))
        {
            return new AuthResult(AuthOutcome.Forbidden, $"signing key is not endorsed for channel '{activity.ChannelId}'");
        }

        if (_options.AllowedTenants is { Length: > 0 } tenants)
        {
            var tenant = TeamsChannelData.From(activity).TenantId;
            if (tenant is null || !tenants.Contains(tenant, StringComparer.OrdinalIgnoreCase))
            {
                return new AuthResult(AuthOutcome.Forbidden, $"tenant '{tenant}' is not in Teams:AllowedTenants");
            }
        }

        return new AuthResult(AuthOutcome.Authenticated, "valid token");
    }

    /// <summary>The OpenID metadata with its keys (and their endorsements), cached; a failed refresh keeps the cached keys.</summary>
    private async Task<OpenIdConnectConfiguration> GetMetadataAsync(bool force, CancellationToken cancellationToken)
    {
        if (IsFresh(force, out var cached))
        {
            return cached;
        }

        await _metadataGate.WaitAsync(cancellationToken);
        try
        {
            if (IsFresh(force, out cached))
            {
                return cached;
            }

            var now = _time.GetUtcNow();
            try
            {
                var metadata = await OpenIdConnectConfigurationRetriever.GetAsync(_options.OpenIdMetadataUrl, _retriever, cancellationToken);
                _metadata = metadata;
                _fetchedAt = now;
                if (force)
                {
                    _forcedAt = now;
                }

                return metadata;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && _metadata is not null)
            {
                LogRefreshFailed(_logger, ex);
                _forcedAt = now;
                return _metadata;
            }
        }
        finally
        {
            _metadataGate.Release();
        }
    }

    private bool IsFresh(bool force, out OpenIdConnectConfiguration metadata)
    {
        metadata = _metadata!;
        if (_metadata is null)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        return force ? now - _forcedAt < MinForcedRefreshInterval : now - _fetchedAt < MetadataLifetime;
    }

    private static bool HasKey(OpenIdConnectConfiguration metadata, string keyId) =>
        metadata.JsonWebKeySet?.Keys.Any(k => string.Equals(k.KeyId, keyId, StringComparison.Ordinal)) == true;

    public void Dispose() => _metadataGate.Dispose();

    private Task<TokenValidationResult> ValidateAsync(string token, OpenIdConnectConfiguration metadata) =>
        _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = _options.TokenIssuer,
            ValidateIssuer = true,
            ValidAudience = _options.AppId,
            ValidateAudience = true,
            IssuerSigningKeys = metadata.SigningKeys,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = ClockSkew,
            LifetimeValidator = ValidateLifetime,
        });

    // Through TimeProvider, so tests can move the clock instead of minting tokens in the past.
    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is { } exp && now <= exp + ClockSkew && (notBefore is not { } nbf || now >= nbf - ClockSkew);
    }

    private static bool IsEndorsed(OpenIdConnectConfiguration metadata, string? keyId, string? channelId)
    {
        if (string.IsNullOrEmpty(channelId))
        {
            // Bot Framework treats an activity without a channel as endorsed; Teams always sends "msteams".
            return true;
        }

        var key = metadata.JsonWebKeySet?.Keys.FirstOrDefault(k => string.Equals(k.KeyId, keyId, StringComparison.Ordinal));
        if (key is null || !key.AdditionalData.TryGetValue("endorsements", out var raw))
        {
            return false;
        }

        return raw switch
        {
            JsonElement { ValueKind: JsonValueKind.Array } array => array.EnumerateArray()
                .Any(e => e.ValueKind == JsonValueKind.String && string.Equals(e.GetString(), channelId, StringComparison.OrdinalIgnoreCase)),
            IEnumerable<object> list => list.Any(e => string.Equals(e?.ToString(), channelId, StringComparison.OrdinalIgnoreCase)),
            _ => false,
        };
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenInvalidLifetimeException => "token lifetime invalid",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidAlgorithmException => "signing algorithm not allowed",
        SecurityTokenSignatureKeyNotFoundException => "unknown signing key",
        SecurityTokenInvalidSignatureException => "bad signature",
        SecurityTokenMalformedException => "malformed token",
        null => "invalid token",
        _ => exception.GetType().Name,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: refreshing the Bot Framework OpenID metadata failed; keeping the cached keys")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: the Bot Framework OpenID metadata could not be loaded; rejecting the activity")]
    private static partial void LogMetadataUnavailable(ILogger logger, Exception exception);
}
