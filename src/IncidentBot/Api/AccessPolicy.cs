using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using IncidentBot.Core.Security;
using IncidentBot.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace IncidentBot.Api;

public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Bearer tokens accepted by the API and the dashboard sign-in. With none, only direct loopback callers get in.</summary>
    public IList<string> Tokens { get; } = [];

    /// <summary>Tokens accepted like <see cref="Tokens"/> that also see private incidents.</summary>
    public IList<string> PrivateTokens { get; } = [];

    /// <summary>How long a dashboard sign-in lasts at most, however active the browser is.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(24);
}

internal sealed class ApiOptionsValidator : IValidateOptions<ApiOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiOptions options)
    {
        var failures = options.Tokens
            .Select((token, i) => SecretRules.Check($"{ApiOptions.Section}:Tokens:{i}", token, SecretRules.MinimumTokenLength))
            .Concat(options.PrivateTokens.Select((token, i) => SecretRules.Check($"{ApiOptions.Section}:PrivateTokens:{i}", token, SecretRules.MinimumTokenLength)))
            .OfType<string>()
            .ToList();
        if (options.SessionLifetime < TimeSpan.FromMinutes(1))
        {
            failures.Add("Api:SessionLifetime must be at least 00:01:00 (the default is 1.00:00:00)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

public enum AccessDecision
{
    Allowed,

    /// <summary>Tokens are configured and the caller presented none that is valid.</summary>
    Unauthenticated,

    /// <summary>No tokens are configured and the caller is not a direct loopback client (or the bot listens beyond loopback).</summary>
    LoopbackOnly,
}

/// <summary>
/// Who may read incidents (API and dashboard): a caller with one of <c>Api:Tokens</c> or <c>Api:PrivateTokens</c> (as a
/// bearer token, or a browser signed in with one), or, when no token is configured (the zero-setup run), a caller on
/// loopback that did not come through a proxy while the bot listens on loopback only. Only <c>Api:PrivateTokens</c>
/// see private incidents (<see cref="SeesPrivate"/>).
/// </summary>
public sealed partial class AccessPolicy(IOptionsMonitor<ApiOptions> options, Listeners listeners, TimeProvider time, ILogger<AccessPolicy> logger)
{
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    /// <summary>A one-way fingerprint of the token a session was created with, so revoking the token ends the session.</summary>
    private const string TokenFingerprintClaim = "incidentbot:token_fingerprint";

    /// <summary>When the browser signed in (Unix seconds); the sliding renewal never moves it.</summary>
    private const string SignedInClaim = "incidentbot:signed_in";

    public bool TokensConfigured => Tokens.Count > 0;

    private List<string> Tokens => Clean(options.CurrentValue.Tokens.Concat(options.CurrentValue.PrivateTokens));

    private List<string> PrivateTokens => Clean(options.CurrentValue.PrivateTokens);

    public AccessDecision Decide(HttpContext http)
    {
        if (!TokensConfigured)
        {
            return listeners.AllLoopback && DirectCaller.IsDirectLoopback(http.Connection.RemoteIpAddress, h => http.Request.Headers.ContainsKey(h))
                ? AccessDecision.Allowed
                : AccessDecision.LoopbackOnly;
        }

        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && IsValidToken(header[scheme.Length..]))
        {
            return AccessDecision.Allowed;
        }

        return http.User.Identity?.IsAuthenticated == true ? AccessDecision.Allowed : AccessDecision.Unauthenticated;
    }

    /// <summary>
    /// Whether the caller sees private incidents: it presents one of <c>Api:PrivateTokens</c>, or its session was
    /// signed in with one that is still configured. Checked per request, so removing the token hides them at once.
    /// </summary>
    public bool SeesPrivate(HttpContext http)
    {
        var privateTokens = PrivateTokens;
        if (privateTokens.Count == 0)
        {
            return false;
        }

        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Matches(privateTokens, header[scheme.Length..]);
        }

        var fingerprint = http.User.Identity?.IsAuthenticated == true ? http.User.FindFirst(TokenFingerprintClaim)?.Value : null;
        return fingerprint is not null && privateTokens.Any(t => FixedTimeEquals(Fingerprint(t), fingerprint));
    }

    /// <summary>Signs a browser in for the dashboard when <paramref name="token"/> is one of the configured tokens.</summary>
    public async Task<bool> SignInAsync(HttpContext http, string? token)
    {
        if (!TokensConfigured || token is null || !IsValidToken(token))
        {
            return false;
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, "dashboard"),
                new Claim(TokenFingerprintClaim, Fingerprint(token.Trim())),
                new Claim(SignedInClaim, time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
            ],
            CookieScheme);
        await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        return true;
    }

    /// <summary>
    /// Runs on every request that carries a session cookie: the session ends when its token is no longer
    /// configured (options are re-read, so a configuration reload revokes at once) or its lifetime is over.
    /// </summary>
    public async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        var fingerprint = principal?.FindFirst(TokenFingerprintClaim)?.Value;
        var signedIn = long.TryParse(principal?.FindFirst(SignedInClaim)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : (DateTimeOffset?)null;

        var ended = fingerprint is null || !Tokens.Any(t => FixedTimeEquals(Fingerprint(t), fingerprint)) ? "its token is no longer configured"
            : signedIn is not { } at || time.GetUtcNow() - at >= options.CurrentValue.SessionLifetime ? "Api:SessionLifetime has passed"
            : null;
        if (ended is null)
        {
            return;
        }

        LogSessionEnded(logger, ended);
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(CookieScheme);
    }

    public bool IsValidToken(string presented) => Matches(Tokens, presented);

    private static List<string> Clean(IEnumerable<string> tokens) =>
        tokens.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).Distinct(StringComparer.Ordinal).ToList();

    private static bool Matches(List<string> tokens, string presented)
    {
        // Compare fixed-length digests so neither length nor content leaks through timing.
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented.Trim()));
        var match = false;
        foreach (var token in tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(digest, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        }

        return match;
    }

    private static string Fingerprint(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("incidentbot-session:" + token)));

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard session ended: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string reason);
}
