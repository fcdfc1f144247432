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

/// <summary>What an incident's Teams war room is.</summary>
public enum WarRoomMode
{
    /// <summary>A new thread in <c>Teams:IncidentsChannelId</c>, or the conversation it was declared in.</summary>
    Thread,

    /// <summary>A new standard channel per incident, made through Microsoft Graph in one of <c>Teams:WarRoomTeamIds</c>.</summary>
    Channel,
}

/// <summary>The <c>Teams</c> configuration section.</summary>
public sealed class TeamsOptions
{
    public const string Section = "Teams";
    public const string DefaultOpenIdMetadataUrl = "https://login.botframework.com/v1/.well-known/openidconfiguration";
    public const string DefaultTokenIssuer = "https://api.botframework.com";
    public const string DefaultScope = "https://api.botframework.com/.default";
    public const string DefaultPinReaction = "1f4cc_pushpin";
    public const string DefaultGraphBaseUrl = "https://graph.microsoft.com/v1.0/";
    public const string GraphScope = "https://graph.microsoft.com/.default";

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

    public WarRoomMode WarRoom { get; set; } = WarRoomMode.Thread;

    /// <summary>Group ids of the teams that hold the incident channels (<see cref="WarRoomMode.Channel"/>), used in turn.</summary>
    public string[]? WarRoomTeamIds { get; set; }

    public string GraphBaseUrl { get; set; } = DefaultGraphBaseUrl;

    /// <summary>Empty: <c>https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token</c>.</summary>
    public string GraphTokenEndpoint { get; set; } = "";

    /// <summary>Archive an incident's own channel when it is resolved (Graph <c>channel: archive</c>).</summary>
    public bool ArchiveOnResolve { get; set; }

    /// <summary>The Entra user object id that organizes the incident meetings; empty: no meeting bridge.</summary>
    public string MeetingOrganizerId { get; set; } = "";

    /// <summary>Transcript lines added to the timeline one by one; the rest of a longer transcript goes into one entry.</summary>
    public int TranscriptMaxEntries { get; set; } = 200;

    /// <summary>
    /// The app's id in the organisation's app catalog (Graph <c>teamsApp</c> id, not the manifest id): the bot installs
    /// itself into a private incident's group chat with it. Empty: no private incidents from Teams.
    /// </summary>
    public string AppCatalogId { get; set; } = "";

    /// <summary>
    /// An Entra user object id added to a private incident's chat when the declarer names nobody else (a group chat
    /// needs two people). Empty: the declarer is asked to name a commander or responders in the declare form.
    /// </summary>
    public string PrivateChatFallbackMemberId { get; set; } = "";

    public bool HasMeetingBridge => !string.IsNullOrWhiteSpace(MeetingOrganizerId);

    public bool IsAnonymous => string.IsNullOrWhiteSpace(AppId);

    /// <summary>An app id, its secret and a tenant to get an app-only Graph token from.</summary>
    public bool HasGraphCredentials =>
        !IsAnonymous && !string.IsNullOrWhiteSpace(AppPassword) && !(string.IsNullOrWhiteSpace(TenantId) && string.IsNullOrWhiteSpace(GraphTokenEndpoint));

    /// <summary>Private incidents can be declared from Teams: a group chat is made and the bot installed into it through Graph.</summary>
    public bool HasPrivateChats => HasGraphCredentials && !string.IsNullOrWhiteSpace(AppCatalogId);

    /// <summary>What an admin must set for private incidents in Teams, for the refusal when they are missing.</summary>
    public const string PrivateChatKeys = "Teams:AppId, Teams:AppPassword, Teams:TenantId and Teams:AppCatalogId";

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

    public string EffectiveGraphTokenEndpoint =>
        !string.IsNullOrWhiteSpace(GraphTokenEndpoint)
            ? GraphTokenEndpoint
            : $"https://login.microsoftonline.com/{TenantId}/oauth2/v2.0/token";

    public IReadOnlyList<string> TeamIds => WarRoomTeamIds?.Where(t => !string.IsNullOrWhiteSpace(t)).ToList() ?? [];
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

        CheckUrl(failures, "Teams:GraphBaseUrl", options.GraphBaseUrl, required: true);
        CheckUrl(failures, "Teams:GraphTokenEndpoint", options.GraphTokenEndpoint, required: false);
        if (options.WarRoom == WarRoomMode.Channel)
        {
            if (options.TeamIds.Count == 0)
            {
                failures.Add("Teams:WarRoomTeamIds must list at least one team group id when Teams:WarRoom=channel (the teams that hold the incident channels)");
            }

            if (options.IsAnonymous || string.IsNullOrWhiteSpace(options.AppPassword) || string.IsNullOrWhiteSpace(options.TenantId) && string.IsNullOrWhiteSpace(options.GraphTokenEndpoint))
            {
                failures.Add("Teams:WarRoom=channel needs Graph credentials: set Teams:AppId, Teams:AppPassword and Teams:TenantId (the app's Graph token comes from that tenant)");
            }
        }
        else if (options.ArchiveOnResolve)
        {
            failures.Add("Teams:ArchiveOnResolve=true needs Teams:WarRoom=channel (only incident channels are archived, never threads)");
        }

        if (options.HasMeetingBridge && !Guid.TryParse(options.MeetingOrganizerId, out _))
        {
            failures.Add("Teams:MeetingOrganizerId must be a user's Entra object id (a GUID), the user the meetings are made for");
        }

        if (options.HasMeetingBridge && (options.IsAnonymous || string.IsNullOrWhiteSpace(options.AppPassword)
            || string.IsNullOrWhiteSpace(options.TenantId) && string.IsNullOrWhiteSpace(options.GraphTokenEndpoint)))
        {
            failures.Add("Teams:MeetingOrganizerId needs Graph credentials: set Teams:AppId, Teams:AppPassword and Teams:TenantId (the app's Graph token comes from that tenant)");
        }

        if (!string.IsNullOrWhiteSpace(options.AppCatalogId) && !Guid.TryParse(options.AppCatalogId, out _))
        {
            failures.Add("Teams:AppCatalogId must be the app's id in your app catalog (a GUID; Graph: GET appCatalogs/teamsApps?$filter=externalId eq '<manifest id>')");
        }

        if (!string.IsNullOrWhiteSpace(options.AppCatalogId) && !options.HasGraphCredentials)
        {
            failures.Add("Teams:AppCatalogId needs Graph credentials: set Teams:AppId, Teams:AppPassword and Teams:TenantId (private incident chats are made through Graph)");
        }

        if (!string.IsNullOrWhiteSpace(options.PrivateChatFallbackMemberId) && !Guid.TryParse(options.PrivateChatFallbackMemberId, out _))
        {
            failures.Add("Teams:PrivateChatFallbackMemberId must be a user's Entra object id (a GUID)");
        }

        if (options.TranscriptMaxEntries is < 1 or > 1000)
        {
            failures.Add("Teams:TranscriptMaxEntries must be between 1 and 1000");
        }

        if (options.WarRoomTeamIds?.Any(t => string.IsNullOrWhiteSpace(t) || t.StartsWith("19:", StringComparison.Ordinal)) == true)
        {
            failures.Add("Teams:WarRoomTeamIds must list team group ids (GUIDs from the team link's groupId=), not channel ids");
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
