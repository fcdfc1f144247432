using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>
/// Which events go to the outbox (decision 12): every event but those that are their timeline entry and nothing more.
/// A note is one: the war room already shows it as the command's answer, so it costs no outbox row, no <c>NOTIFY</c>
/// and no outbox wake-up. The rule is the build's, not the configuration's: every process writing to the database queues
/// the same events whatever handlers it runs (one that only declares still drives the other instances' reminders).
/// </summary>
public static class OutboxRoutes
{
    /// <summary>Whether events of <paramref name="eventType"/> are only their timeline entry: no handler ever gets them.</summary>
    public static bool IsTimelineOnly(Type eventType) => eventType == typeof(NoteAdded);

    /// <summary>The events of <paramref name="events"/> that go to the outbox, in order.</summary>
    public static IReadOnlyList<IncidentEvent> Queued(IReadOnlyList<IncidentEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return events.Any(e => IsTimelineOnly(e.GetType())) ? [.. events.Where(e => !IsTimelineOnly(e.GetType()))] : events;
    }
}
