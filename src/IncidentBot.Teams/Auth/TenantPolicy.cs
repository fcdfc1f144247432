using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Auth;

/// <summary>
/// Which Microsoft 365 tenants may act through the bot: <c>Teams:TenantId</c> plus <c>Teams:AllowedTenants</c>
/// (<c>*</c> for any). With neither set the bot is multi-tenant and accepts every tenant. A valid Bot Framework
/// token says the activity came through the Bot Connector, not from which organisation: that is this check.
/// </summary>
public sealed class TenantPolicy
{
    public const string AnyTenant = "*";

    private readonly HashSet<string> _allowed = new(StringComparer.OrdinalIgnoreCase);

    public TenantPolicy(IOptions<TeamsOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        foreach (var tenant in (settings.AllowedTenants ?? []).Append(settings.TenantId).Where(t => !string.IsNullOrWhiteSpace(t)))
        {
            _allowed.Add(tenant.Trim());
        }

        AcceptsAny = _allowed.Count == 0 || _allowed.Contains(AnyTenant);
    }

    /// <summary>True when every tenant is accepted (multi-tenant bot, or <c>*</c> configured).</summary>
    public bool AcceptsAny { get; }

    /// <summary>The tenants accepted, when not <see cref="AcceptsAny"/>.</summary>
    public IReadOnlyCollection<string> Allowed => _allowed;

    /// <summary>
    /// Every tenant id the activity names (channel data and conversation) must be allowed, and it must name one;
    /// returns the offending id (or "(none)") when refused.
    /// </summary>
    public bool Admits(Activity activity, out string tenant)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var named = new[] { TeamsChannelData.From(activity).TenantId, activity.Conversation?.TenantId }
            .Where(t => !string.IsNullOrWhiteSpace(t))
            .Select(t => t!)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToList();
        tenant = named.FirstOrDefault(t => !_allowed.Contains(t)) ?? named.FirstOrDefault() ?? "(none)";
        return AcceptsAny || named.Count > 0 && named.All(_allowed.Contains);
    }
}
