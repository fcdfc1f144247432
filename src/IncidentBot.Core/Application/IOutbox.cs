using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>An incident event waiting to be delivered to its handlers.</summary>
public sealed record OutboxMessage(long Id, IncidentEvent Event, int Attempts);

/// <summary>
/// Durable queue of <see cref="IncidentEvent"/>s written by <see cref="IIncidentStore"/> in the same
/// transaction as the change. Delivery is at-least-once and in order per incident.
/// </summary>
public interface IOutbox
{
    /// <summary>
    /// Leases up to <paramref name="max"/> due messages, the oldest undelivered one per incident only,
    /// so one incident's events are handled in order. A lease that runs out makes the message due again.
    /// </summary>
    Task<IReadOnlyList<OutboxMessage>> ClaimAsync(int max, TimeSpan lease, CancellationToken cancellationToken);

    Task CompleteAsync(long id, CancellationToken cancellationToken);

    /// <summary>Releases the lease and makes the message due again at <paramref name="notBefore"/>.</summary>
    Task RetryLaterAsync(long id, DateTimeOffset notBefore, string error, CancellationToken cancellationToken);

    /// <summary>Gives up on a message (recorded with the error, never claimed again).</summary>
    Task FailAsync(long id, string error, CancellationToken cancellationToken);
}
