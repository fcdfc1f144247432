using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace IncidentBot.Api;

public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Bearer tokens accepted by the API and the dashboard sign-in. With none, only direct loopback callers get in.</summary>
    public IList<string> Tokens { get; } = [];
}

public enum AccessDecision
{
    Allowed,

    /// <summary>Tokens are configured and the caller presented none that is valid.</summary>
    Unauthenticated,

    /// <summary>No tokens are configured and the caller is not a direct loopback client.</summary>
    LoopbackOnly,
}

/// <summary>
/// Who may read incidents (API and dashboard): a caller with one of <c>Api:Tokens</c> (as a bearer token, or
/// a browser signed in with one), or, when no token is configured (the zero-setup run), a caller on loopback
/// that did not come through a proxy.
/// </summary>
public sealed class AccessPolicy(IOptionsMonitor<ApiOptions> options)
{
    public const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    public bool TokensConfigured => Tokens.Count > 0;

    private List<string> Tokens => options.CurrentValue.Tokens.Where(t => !string.IsNullOrWhiteSpace(t)).ToList();

    public AccessDecision Decide(HttpContext http)
    {
        if (!TokensConfigured)
        {
            return IsDirectLoopback(http) ? AccessDecision.Allowed : AccessDecision.LoopbackOnly;
        }

        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && IsValidToken(header[scheme.Length..]))
        {
            return AccessDecision.Allowed;
        }

        return http.User.Identity?.IsAuthenticated == true ? AccessDecision.Allowed : AccessDecision.Unauthenticated;
    }

    /// <summary>Signs a browser in for the dashboard when <paramref name="token"/> is one of the configured tokens.</summary>
    public async Task<bool> SignInAsync(HttpContext http, string? token)
    {
        if (!TokensConfigured || token is null || !IsValidToken(token))
        {
            return false;
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "dashboard")], CookieScheme);
        await http.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        return true;
    }

    public bool IsValidToken(string presented)
    {
        // Compare fixed-length digests so neither length nor content leaks through timing.
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented.Trim()));
        var match = false;
        foreach (var token in Tokens)
        {
            match |= CryptographicOperations.FixedTimeEquals(digest, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        }

        return match;
    }

    private static bool IsDirectLoopback(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } address &&
        IPAddress.IsLoopback(address) &&
        !http.Request.Headers.ContainsKey("X-Forwarded-For") &&
        !http.Request.Headers.ContainsKey("Forwarded");
}
