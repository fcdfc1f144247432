using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Postmortems;

/// <summary>Loads what was recorded about an incident and writes its postmortem draft.</summary>
public sealed class PostmortemService(IIncidentStore store, TimeProvider time)
{
    public async Task<PostmortemInput?> LoadAsync(IncidentNumber number, CancellationToken cancellationToken)
    {
        var incident = await store.GetAsync(number, cancellationToken);
        if (incident is null)
        {
            return null;
        }

        return new PostmortemInput(
            incident,
            await store.GetTimelineAsync(incident.Id, cancellationToken),
            await store.GetRoleHistoryAsync(incident.Id, cancellationToken),
            await store.GetActionItemsAsync(incident.Id, cancellationToken),
            time.GetUtcNow());
    }

    /// <summary>The Markdown draft, or null when the incident does not exist.</summary>
    public async Task<string?> GetMarkdownAsync(IncidentNumber number, Uri? incidentPage, CancellationToken cancellationToken) =>
        await LoadAsync(number, cancellationToken) is { } input ? PostmortemDraft.ToMarkdown(input, incidentPage) : null;
}
