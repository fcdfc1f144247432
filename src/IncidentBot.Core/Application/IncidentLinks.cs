using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Application;

public sealed class IncidentLinkOptions
{
    public const string Section = "Dashboard";

    /// <summary>The dashboard's public address (e.g. https://incidents.example.com/); links in chat and postmortems start here.</summary>
    public Uri? PublicUrl { get; set; }
}

/// <summary>Addresses of an incident's dashboard pages, when the dashboard's public address is configured.</summary>
public sealed class IncidentLinks(IOptions<IncidentLinkOptions> options)
{
    public Uri? IncidentPage(IncidentNumber number) => Under($"incidents/{number}");

    public Uri? PostmortemMarkdown(IncidentNumber number) => Under($"incidents/{number}/postmortem.md");

    private Uri? Under(string path) =>
        options.Value.PublicUrl is { } root ? new Uri(root.AbsoluteUri.EndsWith('/') ? root : new Uri(root.AbsoluteUri + "/"), path) : null;
}
