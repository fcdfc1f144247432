using System.Collections.Concurrent;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// Display names learnt from the requests themselves (slash commands and interactions carry them), so
/// capturing a message never waits on <c>users.info</c>; unknown users show as their id.
/// </summary>
public sealed class SlackUserDirectory
{
    private const int MaxEntries = 50_000;
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    public void Learn(string? userId, string? name)
    {
        if (string.IsNullOrEmpty(userId) || string.IsNullOrWhiteSpace(name) || _names.Count >= MaxEntries && !_names.ContainsKey(userId))
        {
            return;
        }

        _names[userId] = name;
    }

    public Person Person(string userId, string? name = null)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            Learn(userId, name);
            return new Person(SlackIds.Platform, userId, name);
        }

        return new Person(SlackIds.Platform, userId, _names.GetValueOrDefault(userId, ""));
    }
}
