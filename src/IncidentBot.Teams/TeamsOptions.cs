using IncidentBot.Core.Security;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams;

/// <summary>How <c>POST /api/messages</c> treats callers.</summary>
public enum TeamsMode
{
    /// <summary>No <c>Teams:AppId</c> and no opt-in to local mode: every activity is refused.</summary>
    Off,

    /// <summary>No <c>Teams:AppId</c>, opted in: direct loopback callers without a token are accepted (Agents Playground).</summary>
    Local,

    /// <summary>Bot Framework tokens are required.</summary>
    Authenticated,
}

/// <summary>The <c>Teams</c> configuration section.</summary>
public sealed class TeamsOptions
{
    public const string Section = "Teams";
    public const string DefaultOpenIdMetadataUrl = "https://login.botframework.com/v1/.well-known/openidconfiguration";
    public const string DefaultTokenIssuer = "https://api.botframework.com";
    public const string DefaultScope = "https://api.botframework.com/.default";
    public const string DefaultPinReaction = "1f4cc_pushpin";

    /// <summary>The bot's Entra application id; without it Teams is off, or in local mode when opted in.</summary>
    public string AppId { get; set; } = "";

    /// <summary>
    /// Opt-in to local mode outside Development: with no <see cref="AppId"/>, direct loopback callers may post
    /// activities without a token (the Agents Playground). A configuration error together with an app id.
    /// </summary>
    public bool LocalMode { get; set; }

    public string AppPassword { get; set; } = "";

    /// <summary>The bot's home tenant (single-tenant bots get their tokens there).</summary>
    public string TenantId { get; set; } = "";

    public string OpenIdMetadataUrl { get; set; } = DefaultOpenIdMetadataUrl;

    public string TokenIssuer { get; set; } = DefaultTokenIssuer;

    /// <summary>Empty: <c>https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token</c>.</summary>
    public string TokenEndpoint { get; set; } = "";

    public string TokenScope { get; set; } = DefaultScope;

    /// <summary>A channel (<c>19:…@thread.tacv2</c>) where each incident gets a new thread as its war room.</summary>
    public string IncidentsChannelId { get; set; } = "";

    /// <summary>Reaction types that pin a war-room message; null means <see cref="DefaultPinReaction"/>.</summary>
    public string[]? PinReactions { get; set; }

    /// <summary>Tenants allowed besides <see cref="TenantId"/>; <c>*</c> allows any. With neither set, every tenant is accepted.</summary>
    public string[]? AllowedTenants { get; set; }

    /// <summary>Extra Bot Connector hosts the bot may call (and send its token to) besides Microsoft's.</summary>
    public string[]? AllowedServiceHosts { get; set; }

    /// <summary>Minimum gap between two sends to one conversation (Teams allows 7 per second per conversation).</summary>
    public TimeSpan SendInterval { get; set; } = TimeSpan.FromMilliseconds(150);

    /// <summary>How often a throttled or failed connector call is retried.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>Upper bound for one wait between retries, whatever <c>Retry-After</c> asks.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(60);

    public bool IsAnonymous => string.IsNullOrWhiteSpace(AppId);

    /// <summary>Authenticated with an app id; otherwise local mode only when opted in (Development or <see cref="LocalMode"/>).</summary>
    public TeamsMode ModeIn(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return !IsAnonymous ? TeamsMode.Authenticated
            : LocalMode || environment.IsDevelopment() ? TeamsMode.Local
            : TeamsMode.Off;
    }

    public IReadOnlyList<string> EffectivePinReactions =>
        PinReactions is { Length: > 0 } configured ? configured : [DefaultPinReaction];

    public string EffectiveTokenEndpoint =>
        !string.IsNullOrWhiteSpace(TokenEndpoint)
            ? TokenEndpoint
            : $"https://login.microsoftonline.com/{(string.IsNullOrWhiteSpace(TenantId) ? "botframework.com" : TenantId)}/oauth2/v2.0/token";
}

internal sealed class TeamsOptionsValidator : IValidateOptions<TeamsOptions>
{
    public ValidateOptionsResult Validate(string? name, TeamsOptions options)
    {
        var failures = new List<string>();
        CheckUrl(failures, "Teams:OpenIdMetadataUrl", options.OpenIdMetadataUrl, required: true);
        CheckUrl(failures, "Teams:TokenEndpoint", options.TokenEndpoint, required: false);
        if (string.IsNullOrWhiteSpace(options.TokenIssuer))
        {
            failures.Add("Teams:TokenIssuer must not be empty (default https://api.botframework.com)");
        }

        if (!options.IsAnonymous && options.LocalMode)
        {
            failures.Add("Teams:LocalMode=true cannot be combined with Teams:AppId (local mode accepts activities without a token): remove one of them");
        }

        if (SecretRules.Check("Teams:AppPassword", options.AppPassword) is { } secret)
        {
            failures.Add(secret);
        }

        if (!options.IsAnonymous)
        {
            if (string.IsNullOrWhiteSpace(options.AppPassword))
            {
                failures.Add("Teams:AppPassword is required when Teams:AppId is set (set it from the environment: Teams__AppPassword)");
            }

            if (string.IsNullOrWhiteSpace(options.TenantId) && string.IsNullOrWhiteSpace(options.TokenEndpoint))
            {
                failures.Add("Teams:TenantId is required when Teams:AppId is set (single-tenant bots get tokens from their home tenant)");
            }
        }

        if (options.AllowedTenants?.Any(string.IsNullOrWhiteSpace) == true)
        {
            failures.Add("Teams:AllowedTenants must list tenant ids (or * for any tenant), without empty entries");
        }

        if (options.SendInterval < TimeSpan.Zero)
        {
            failures.Add("Teams:SendInterval must not be negative, e.g. 00:00:00.150");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("Teams:MaxRetries must be between 0 and 10");
        }

        if (options.MaxRetryDelay <= TimeSpan.Zero)
        {
            failures.Add("Teams:MaxRetryDelay must be a positive time span, e.g. 00:01:00");
        }

        if (!string.IsNullOrWhiteSpace(options.IncidentsChannelId) && !options.IncidentsChannelId.StartsWith("19:", StringComparison.Ordinal))
        {
            failures.Add("Teams:IncidentsChannelId must be a Teams channel id starting with 19: (copy it from the channel link)");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckUrl(List<string> failures, string key, string? value, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                failures.Add($"{key} must be set");
            }

            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) ||
            !(uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
        {
            failures.Add($"{key} must be an https URL (plain http only for loopback addresses), got '{value}'");
        }
    }
}
