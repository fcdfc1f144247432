using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace IncidentBot.Teams.Auth;

public enum AuthOutcome
{
    /// <summary>A valid Bot Framework token.</summary>
    Authenticated,

    /// <summary>Local mode: no Authorization header, from a direct loopback caller.</summary>
    Anonymous,

    /// <summary>Missing or invalid token: 401.</summary>
    Unauthorized,

    /// <summary>No token and local mode is off, or the caller is not a direct loopback client: 401.</summary>
    LocalModeRefused,

    /// <summary>A valid token that may not speak for this activity (signing key not endorsed for its channel): 403.</summary>
    Forbidden,

    /// <summary>The activity comes from a tenant that is not allowed: 403, nothing done.</summary>
    TenantNotAllowed,

    /// <summary>The signing keys could not be loaded at all: 503, so the Bot Connector delivers the activity again.</summary>
    Unavailable,
}

public sealed record AuthResult(AuthOutcome Outcome, string Reason)
{
    public bool Succeeded => Outcome is AuthOutcome.Authenticated or AuthOutcome.Anonymous;

    /// <summary>The validated token, when <see cref="Outcome"/> is <see cref="AuthOutcome.Authenticated"/>.</summary>
    internal JsonWebToken? Token { get; init; }

    internal OpenIdConnectConfiguration? Metadata { get; init; }
}

/// <summary>
/// Checks the bearer token the Bot Connector sends with every activity, the way Bot Framework specifies:
/// keys from the OpenID metadata (<see cref="BotSigningKeys"/>), issuer, audience = our app id, lifetime with 5 minutes
/// of skew, RS256; then, once the activity is read, the <c>serviceurl</c> claim against the activity, the signing
/// key's endorsements against the activity's channel, and the tenant. Without an app id only local mode admits
/// anything: no token, a direct loopback caller, and the operator's opt-in.
/// </summary>
public sealed partial class BotAuthenticator
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private readonly TeamsOptions _options;
    private readonly TeamsMode _mode;
    private readonly TenantPolicy _tenants;
    private readonly BotSigningKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<BotAuthenticator> _logger;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public BotAuthenticator(
        IOptions<TeamsOptions> options, IHostEnvironment environment, TenantPolicy tenants, BotSigningKeys keys, TimeProvider time, ILogger<BotAuthenticator> logger)
    {
        _options = options.Value;
        _mode = _options.ModeIn(environment);
        _tenants = tenants;
        _keys = keys;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Everything that can be decided from the request line and headers, before the body is read: the token (or,
    /// in local mode, that there is none and the caller is a direct loopback client).
    /// </summary>
    public async Task<AuthResult> AuthenticateAsync(string? authorization, bool directLoopback, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(authorization))
        {
            return _mode switch
            {
                TeamsMode.Local when directLoopback => new AuthResult(AuthOutcome.Anonymous, "local mode"),
                TeamsMode.Local => new AuthResult(AuthOutcome.LocalModeRefused, "no token, and local mode accepts only direct loopback callers (no proxy)"),
                TeamsMode.Off => new AuthResult(AuthOutcome.LocalModeRefused, "no token, and Teams is off (set Teams:AppId; for the Agents Playground, Teams:LocalMode=true)"),
                _ => new AuthResult(AuthOutcome.Unauthorized, "no Authorization header"),
            };
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
            metadata = await _keys.GetAsync(keyId, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogMetadataUnavailable(_logger, ex);
            return new AuthResult(AuthOutcome.Unavailable, "signing keys unavailable");
        }

        var result = await ValidateAsync(token, metadata);
        return result.IsValid && result.SecurityToken is JsonWebToken jwt
            ? new AuthResult(AuthOutcome.Authenticated, "valid token") { Token = jwt, Metadata = metadata }
            : new AuthResult(AuthOutcome.Unauthorized, Describe(result.Exception));
    }

    /// <summary>Whether an authenticated (or local-mode) request may act for <paramref name="activity"/>.</summary>
    public AuthResult Authorize(AuthResult authenticated, Activity activity)
    {
        ArgumentNullException.ThrowIfNull(authenticated);
        ArgumentNullException.ThrowIfNull(activity);
        if (authenticated is { Outcome: AuthOutcome.Authenticated, Token: { } jwt, Metadata: { } metadata })
        {
            if (!jwt.TryGetPayloadValue<string>("serviceurl", out var serviceUrl) || string.IsNullOrEmpty(serviceUrl))
            {
                return new AuthResult(AuthOutcome.Unauthorized, "missing serviceurl claim");
            }

            if (!string.Equals(serviceUrl, activity.ServiceUrl, StringComparison.OrdinalIgnoreCase))
            {
                return new AuthResult(AuthOutcome.Unauthorized, "serviceurl claim does not match the activity's serviceUrl");
            }

            if (!BotSigningKeys.IsEndorsed(metadata, jwt.SigningKey?.KeyId, activity.ChannelId))
            {
                return new AuthResult(AuthOutcome.Forbidden, $"signing key is not endorsed for channel '{activity.ChannelId}'");
            }
        }
        else if (authenticated.Outcome != AuthOutcome.Anonymous)
        {
            return authenticated.Succeeded ? new AuthResult(AuthOutcome.Unauthorized, "no validated token") : authenticated;
        }

        return _tenants.Admits(activity, out var tenant)
            ? authenticated
            : new AuthResult(AuthOutcome.TenantNotAllowed, $"tenant '{tenant}' is not Teams:TenantId or in Teams:AllowedTenants");
    }

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

    [LoggerMessage(Level = LogLevel.Error, Message = "Teams: the Bot Framework OpenID metadata could not be loaded; rejecting the activity")]
    private static partial void LogMetadataUnavailable(ILogger logger, Exception exception);
}
