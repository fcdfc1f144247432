using IncidentBot.Core.Incidents;

namespace IncidentBot.Dashboard;

public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>The dashboard's public address (e.g. https://incidents.example.com/), used in links posted to chat and postmortems.</summary>
    public Uri? PublicUrl { get; set; }

    public Uri? IncidentPage(IncidentNumber number) =>
        PublicUrl is null ? null : new Uri(PublicUrl, $"incidents/{number}");
}
