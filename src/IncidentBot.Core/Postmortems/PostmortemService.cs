using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Postmortems;

/// <summary>Loads what was recorded about an incident and writes its postmortem draft.</summary>
public sealed class PostmortemService(IIncidentStore store, TimeProvider time)
{
    /// <param name="includePrivate">False for readers who may not see private incidents: theirs is null, as if it did not exist.</param>
    public async Task<PostmortemInput?> LoadAsync(IncidentNumber number, bool includePrivate, CancellationToken cancellationToken)
    {
        var incident = await store.GetAsync(number, cancellationToken);
        if (incident is null || incident.IsPrivate && !includePrivate)
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

    /// <summary>The Markdown draft, or null when the incident does not exist (or is private and <paramref name="includePrivate"/> is false).</summary>
    public async Task<string?> GetMarkdownAsync(IncidentNumber number, Uri? incidentPage, bool includePrivate, CancellationToken cancellationToken) =>
        await LoadAsync(number, includePrivate, cancellationToken) is { } input ? PostmortemDraft.ToMarkdown(input, incidentPage) : null;
}
