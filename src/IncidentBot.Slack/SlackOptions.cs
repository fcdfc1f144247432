using System.Net;
using System.Text.RegularExpressions;
using IncidentBot.Core.Security;
using IncidentBot.Core.WarRooms;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack;

/// <summary>The <c>Slack:*</c> settings. Without a bot token the Slack front-end stays off.</summary>
public sealed class SlackOptions
{
    public const string Section = "Slack";
    public const string DefaultApiBaseUrl = "https://slack.com/api/";

    /// <summary>Verifies HTTP requests (Events API, commands, interactivity). Not needed in Socket Mode.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>The bot token (<c>xoxb-…</c>) for the Web API.</summary>
    public string? BotToken { get; set; }

    /// <summary>An app-level token (<c>xapp-…</c>, <c>connections:write</c>): when set, events arrive over Socket Mode.</summary>
    public string? AppToken { get; set; }

    public string ApiBaseUrl { get; set; } = DefaultApiBaseUrl;

    /// <summary>
    /// Workspaces (<c>T…</c>) and Enterprise Grid organisations (<c>E…</c>) whose requests the bot acts on, or
    /// <c>*</c> for any. Empty: the bot token's own team (or its organisation, for an org-wide install), from auth.test.
    /// </summary>
    public string[]? AllowedTeams { get; set; }

    /// <summary>War-room channels are named <c>&lt;prefix&gt;-&lt;number&gt;-&lt;slug&gt;</c>.</summary>
    public string ChannelPrefix { get; set; } = "inc";

    /// <summary>A channel id (or name) where new incidents are announced; none when empty.</summary>
    public string? AnnouncementsChannel { get; set; }

    /// <summary>What <see cref="AnnouncementsChannel"/> hears of a private incident: nothing, or its number only.</summary>
    public PrivateAnnouncement PrivateAnnouncement { get; set; } = PrivateAnnouncement.None;

    /// <summary>Reaction names (without colons) that pin a war-room message to the timeline.</summary>
    public string[] PinReactions { get; set; } = ["pushpin"];

    /// <summary>The reaction the bot adds to confirm a pin.</summary>
    public string PinConfirmationReaction { get; set; } = "white_check_mark";

    /// <summary>Slack shows about one message per second per channel; posts to one channel are spaced by this.</summary>
    public TimeSpan ChannelPostInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// At most this many messages said in a war room before the bot could hear them (since the incident was declared)
    /// are read back into the timeline when the room is linked; 0 reads none.
    /// </summary>
    public int BackfillLimit { get; set; } = 500;

    /// <summary>Archive the channel the bot made for an incident when it is resolved (<c>conversations.archive</c>).</summary>
    public bool ArchiveOnResolve { get; set; }

    /// <summary>Socket Mode connections kept open, so a refresh of one does not drop events.</summary>
    public int SocketModeConnections { get; set; } = 2;

    /// <summary>
    /// A Socket Mode connection is pinged every half of this and dropped (then opened again) when a ping goes unanswered
    /// for the other half: a half-open socket is replaced within this long.
    /// </summary>
    public TimeSpan SocketModeLivenessTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public bool Enabled => !string.IsNullOrWhiteSpace(BotToken);

    public bool HttpEnabled => Enabled && !string.IsNullOrWhiteSpace(SigningSecret);

    public bool SocketModeEnabled => Enabled && !string.IsNullOrWhiteSpace(AppToken);

    public Uri ApiBaseUri => new(ApiBaseUrl.EndsWith('/') ? ApiBaseUrl : ApiBaseUrl + "/");
}

/// <summary>Start-up validation: one message per bad key, naming it.</summary>
public sealed partial class SlackOptionsValidator : IValidateOptions<SlackOptions>
{
    public ValidateOptionsResult Validate(string? name, SlackOptions options)
    {
        var failures = new List<string>();
        var anySet = !string.IsNullOrWhiteSpace(options.BotToken) || !string.IsNullOrWhiteSpace(options.SigningSecret) || !string.IsNullOrWhiteSpace(options.AppToken);
        if (!anySet)
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.BotToken))
        {
            failures.Add("Slack:BotToken is required when Slack:SigningSecret or Slack:AppToken is set (a bot token, xoxb-…)");
        }
        else if (string.IsNullOrWhiteSpace(options.SigningSecret) && string.IsNullOrWhiteSpace(options.AppToken))
        {
            failures.Add("Slack:SigningSecret is required for the HTTP endpoints (or set Slack:AppToken for Socket Mode)");
        }

        var secrets = new[]
        {
            SecretRules.Check("Slack:SigningSecret", options.SigningSecret, SecretRules.MinimumTokenLength),
            SecretRules.Check("Slack:BotToken", options.BotToken),
            SecretRules.Check("Slack:AppToken", options.AppToken),
        };
        failures.AddRange(secrets.OfType<string>());

        if (!string.IsNullOrWhiteSpace(options.AppToken) && !options.AppToken.StartsWith("xapp-", StringComparison.Ordinal) && secrets[2] is null)
        {
            failures.Add("Slack:AppToken must be an app-level token starting with xapp-");
        }

        if (options.AllowedTeams?.Any(t => t is not "*" && !TeamIdPattern().IsMatch(t ?? "")) == true)
        {
            failures.Add("Slack:AllowedTeams must list workspace ids (T…) or Enterprise Grid organisation ids (E…), or *");
        }

        if (!Uri.TryCreate(options.ApiBaseUrl, UriKind.Absolute, out var api) ||
            !(api.Scheme == Uri.UriSchemeHttps || api.Scheme == Uri.UriSchemeHttp && IsLoopback(api)))
        {
            failures.Add("Slack:ApiBaseUrl must be an https:// URL such as https://slack.com/api/ (http:// only for loopback)");
        }

        if (!ChannelPrefixPattern().IsMatch(options.ChannelPrefix ?? ""))
        {
            failures.Add("Slack:ChannelPrefix must be 1-20 lowercase letters, digits, '-' or '_'");
        }

        if (options.PinReactions is null || options.PinReactions.Length == 0 || options.PinReactions.Any(r => !ReactionPattern().IsMatch(r ?? "")))
        {
            failures.Add("Slack:PinReactions must list reaction names without colons, such as pushpin");
        }

        if (options.ChannelPostInterval < TimeSpan.Zero || options.ChannelPostInterval > TimeSpan.FromMinutes(1))
        {
            failures.Add("Slack:ChannelPostInterval must be between 00:00:00 and 00:01:00");
        }

        if (options.BackfillLimit is < 0 or > 10_000)
        {
            failures.Add("Slack:BackfillLimit must be between 0 and 10000");
        }

        if (options.SocketModeConnections is < 1 or > 10)
        {
            failures.Add("Slack:SocketModeConnections must be between 1 and 10");
        }

        if (options.SocketModeLivenessTimeout < TimeSpan.FromSeconds(1) || options.SocketModeLivenessTimeout > TimeSpan.FromSeconds(30))
        {
            failures.Add("Slack:SocketModeLivenessTimeout must be between 00:00:01 and 00:00:30, such as 00:00:15");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || IPAddress.TryParse(uri.Host, out var address) && IPAddress.IsLoopback(address);

    [GeneratedRegex("^[TE][A-Z0-9]{2,30}$")]
    private static partial Regex TeamIdPattern();

    [GeneratedRegex("^[a-z0-9_-]{1,20}$")]
    private static partial Regex ChannelPrefixPattern();

    [GeneratedRegex("^[a-z0-9_+'-]{1,100}$")]
    private static partial Regex ReactionPattern();
}
