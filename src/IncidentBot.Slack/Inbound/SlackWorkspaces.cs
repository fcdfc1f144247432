using System.Text.Json;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// The installation a payload is for, read where Slack puts it for each kind (as Bolt reads it): the workspace
/// (<c>T…</c>), its Enterprise Grid organisation (<c>E…</c>), and whether the app is installed org-wide.
/// </summary>
public sealed record SlackInstallation(string? TeamId, string? EnterpriseId, bool IsEnterpriseInstall)
{
    /// <summary>A slash command's form fields (or the same fields in a Socket Mode envelope).</summary>
    public static SlackInstallation? FromCommand(Func<string, string?> field)
    {
        ArgumentNullException.ThrowIfNull(field);
        return Of(field("team_id"), field("enterprise_id"), string.Equals(field("is_enterprise_install"), "true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// An interactivity payload (block actions, shortcuts, view submissions, options). <c>team</c> is null for org-wide
    /// installs, so <c>user.team_id</c> stands in; a modal opened from a Slack Connect channel names its installing team.
    /// </summary>
    public static SlackInstallation? FromInteraction(JsonElement payload)
    {
        var team = Object(payload, "team");
        var view = Object(payload, "view");
        var teamId = (view is { } v ? Str(v, "app_installed_team_id") : null)
            ?? (team is { } t ? Str(t, "id") : null)
            ?? (Object(payload, "user") is { } user ? Str(user, "team_id") : null);
        var enterpriseId = (Object(payload, "enterprise") is { } enterprise ? Str(enterprise, "id") : null)
            ?? (team is { } t2 ? Str(t2, "enterprise_id") : null);
        return Of(teamId, enterpriseId, IsTrue(payload, "is_enterprise_install"));
    }

    /// <summary>An Events API <c>event_callback</c>: the (single) authorization Slack sends, else the envelope's ids.</summary>
    public static SlackInstallation? FromEventCallback(JsonElement body)
    {
        var authorization = body.TryGetProperty("authorizations", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
            ? list[0]
            : default;
        return Of(
            Str(authorization, "team_id") ?? Str(body, "team_id"),
            Str(authorization, "enterprise_id") ?? Str(body, "enterprise_id"),
            IsTrue(authorization, "is_enterprise_install") || IsTrue(body, "is_enterprise_install"));
    }

    public override string ToString() => EnterpriseId is null ? TeamId ?? "(none)" : $"{TeamId ?? "(none)"} in {EnterpriseId}{(IsEnterpriseInstall ? " (org-wide)" : "")}";

    private static SlackInstallation? Of(string? teamId, string? enterpriseId, bool enterpriseInstall) =>
        string.IsNullOrEmpty(teamId) && string.IsNullOrEmpty(enterpriseId)
            ? null
            : new SlackInstallation(NullIfEmpty(teamId), NullIfEmpty(enterpriseId), enterpriseInstall);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static JsonElement? Object(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static bool IsTrue(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}

public enum SlackRefusal
{
    /// <summary>From a workspace or organisation that is not allowed: no effect, an empty 200 so Slack does not retry.</summary>
    ForeignWorkspace,

    /// <summary>The bot's own team is not known yet (auth.test unreachable): 503, so Slack retries.</summary>
    WorkspaceUnverified,
}

/// <summary>A verified request the bot will not act on; see <see cref="SlackRefusal"/> for how each transport answers.</summary>
public sealed class SlackRefusedException(SlackRefusal refusal, string message) : Exception(message)
{
    public SlackRefusal Refusal { get; } = refusal;
}

/// <summary>
/// Which workspaces may act through the bot: <c>Slack:AllowedTeams</c>, or by default the bot token's own team (its
/// organisation for an org-wide Enterprise Grid install) as auth.test reports it. The default is looked up in the
/// background from start-up until it is known and then kept; until then requests are refused, never let through.
/// </summary>
public sealed partial class SlackWorkspaces(
    IOptions<SlackOptions> options,
    SlackBotIdentity identity,
    ISlackApi slack,
    TimeProvider time,
    ILogger<SlackWorkspaces> logger) : BackgroundService
{
    public const string AnyTeam = "*";

    /// <summary>How long a request waits for the first auth.test answer before it is refused with 503 (Slack waits 3 s).</summary>
    public static readonly TimeSpan RequestWait = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan MaxLookupDelay = TimeSpan.FromMinutes(1);

    private readonly TaskCompletionSource<IReadOnlySet<string>> _allowed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Passes when <paramref name="installation"/> may act; otherwise throws <see cref="SlackRefusedException"/>.</summary>
    public async Task AdmitAsync(SlackInstallation? installation, CancellationToken cancellationToken)
    {
        if (installation is null)
        {
            throw new SlackPayloadException("The payload names no workspace (team_id or enterprise_id).");
        }

        IReadOnlySet<string> allowed;
        try
        {
            allowed = await _allowed.Task.WaitAsync(RequestWait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new SlackRefusedException(SlackRefusal.WorkspaceUnverified, "the bot's own workspace is not known yet (auth.test has not answered)");
        }

        if (!(allowed.Contains(AnyTeam)
            || installation.TeamId is { } team && allowed.Contains(team)
            || installation.EnterpriseId is { } enterprise && allowed.Contains(enterprise)))
        {
            throw new SlackRefusedException(SlackRefusal.ForeignWorkspace, $"workspace {installation} is not in Slack:AllowedTeams");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        if (settings.AllowedTeams is { Length: > 0 } configured)
        {
            _allowed.TrySetResult(configured.ToHashSet(StringComparer.Ordinal));
            LogAllowed(logger, configured, "Slack:AllowedTeams");
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var auth = await identity.GetAsync(slack, stoppingToken);
                string[] own = auth is { IsEnterpriseInstall: true, EnterpriseId: { Length: > 0 } organisation } ? [organisation] : [auth.TeamId];
                _allowed.TrySetResult(own.ToHashSet(StringComparer.Ordinal));
                LogAllowed(logger, own, "the bot token's own team (auth.test)");
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogLookupFailed(logger, delay, ex.Message);
            }

            await Task.Delay(delay, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            delay = delay * 2 < MaxLookupDelay ? delay * 2 : MaxLookupDelay;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack: requests are accepted only from workspaces {Teams} ({Source})")]
    private static partial void LogAllowed(ILogger logger, IReadOnlyCollection<string> teams, string source);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack: auth.test failed, so the bot's own workspace is unknown and every Slack request is refused with 503; trying again in {Delay}: {Reason}")]
    private static partial void LogLookupFailed(ILogger logger, TimeSpan delay, string reason);
}
