using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Core.Application;

/// <summary>
/// Which events this instance queues in the outbox: those whose type at least one of its
/// <see cref="IIncidentEventHandler"/>s receives (decision 12). An event nobody here delivers (a note: the war room
/// already shows it as the command's answer) costs no outbox row, no <c>NOTIFY</c> and no outbox wake-up; its timeline
/// entry is the record either way.
/// </summary>
public sealed class OutboxRoutes
{
    private readonly Lazy<IIncidentEventHandler[]> _handlers;

    /// <summary>The handlers are looked up on first use: most of them depend on <see cref="IncidentService"/>, which depends on this.</summary>
    public OutboxRoutes(IServiceProvider services) => _handlers = new(() => [.. services.GetServices<IIncidentEventHandler>()]);

    public OutboxRoutes(IEnumerable<IIncidentEventHandler> handlers) => _handlers = new(() => [.. handlers]);

    public bool IsDelivered(Type eventType) => _handlers.Value.Any(handler => handler.Receives(eventType));

    /// <summary>The events of <paramref name="events"/> that some handler receives, in order.</summary>
    public IReadOnlyList<IncidentEvent> Queued(IReadOnlyList<IncidentEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return events.All(e => IsDelivered(e.GetType())) ? events : [.. events.Where(e => IsDelivered(e.GetType()))];
    }
}
