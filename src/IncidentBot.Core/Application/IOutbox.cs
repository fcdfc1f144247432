using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>
/// One stored incident event (outbox message <paramref name="MessageId"/>) due for one handler, leased to the
/// caller. <paramref name="Attempts"/> counts this handler's claims of this message, this one included.
/// </summary>
public sealed record OutboxDelivery(long MessageId, string Handler, IncidentEvent Event, int Attempts);

/// <summary>
/// Durable queue of <see cref="IncidentEvent"/>s written by <see cref="IIncidentStore"/> in the same
/// transaction as the change, delivered at least once to each handler through a lane of its own: every
/// (incident, handler) pair is an ordered lane, so a handler that keeps failing holds back only its own later
/// events of that incident, never another handler's and never another incident's.
/// </summary>
/// <remarks>
/// A message gets its lanes when it is first claimed, one per handler the claimer names then; a handler added
/// later receives only the messages claimed after it was added, not the history before it. Retries, attempts,
/// leases and giving up are all per delivery, that is per (message, handler). Every claim names its
/// <see cref="Instance"/>; the claims of an instance that stopped checking in (<see cref="CheckInAsync"/>) for twice
/// <see cref="OutboxOptions.CheckinInterval"/> are free to take again before their lease runs out.
/// </remarks>
public interface IOutbox
{
    /// <summary>This process's name among the instances sharing the outbox, recorded with each of its claims.</summary>
    string Instance { get; }

    /// <summary>
    /// Records that <see cref="Instance"/> is alive now, and forgets the instances that have not checked in for twice
    /// <see cref="OutboxOptions.CheckinInterval"/>, whose claims are claimable again from then on; returns their names.
    /// <paramref name="starting"/> marks this process's first check-in: where only one instance can run (SQLite),
    /// every other instance is gone then, so a restart takes back what the killed process held at once.
    /// </summary>
    Task<IReadOnlyList<string>> CheckInAsync(bool starting, CancellationToken cancellationToken);

    /// <summary>Forgets <see cref="Instance"/> as it stops, so the claims it leaves unfinished are claimable at once.</summary>
    Task CheckOutAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates the lanes of messages no one has claimed yet, one delivery per handler named in
    /// <paramref name="capacity"/>, then leases for each handler up to its capacity (how many more deliveries it
    /// can run now; 0 claims none) of its due deliveries: in each (incident, handler) lane only the oldest one not
    /// yet completed or given up, so a handler sees an incident's events in order, and a batch holds at most one
    /// delivery per lane. Each claim counts as an attempt, whatever becomes of it. A lease that runs out, or a claimer
    /// that stopped checking in, makes the delivery due again; until then no other claimer (in this process or another)
    /// gets that delivery.
    /// </summary>
    Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(IReadOnlyDictionary<string, int> capacity, TimeSpan lease, CancellationToken cancellationToken) =>
        ClaimAsync(capacity, EveryEvent, lease, cancellationToken);

    /// <summary>
    /// As <see cref="ClaimAsync(IReadOnlyDictionary{string, int}, TimeSpan, CancellationToken)"/>, but a message gets a
    /// lane only for the handlers that <paramref name="receives"/> its event type (handler name, event type); one no
    /// handler receives is fanned out to no lane at all, and never claimed.
    /// </summary>
    Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(
        IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool> receives, TimeSpan lease, CancellationToken cancellationToken) =>
        ClaimAsync(capacity, receives, lease, fanOut: true, cancellationToken);

    /// <summary>
    /// As <see cref="ClaimAsync(IReadOnlyDictionary{string, int}, Func{string, Type, bool}, TimeSpan, CancellationToken)"/>;
    /// with <paramref name="fanOut"/> false the caller knows that no message was stored since its last claim (nothing
    /// woke it), so only lanes already made are claimed, unless the last fan-out left a backlog. A store may fan out anyway.
    /// </summary>
    Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(
        IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool> receives, TimeSpan lease, bool fanOut, CancellationToken cancellationToken) =>
        ClaimAsync(capacity, receives, lease, fanOut, checkIn: false, cancellationToken);

    /// <summary>
    /// As <see cref="ClaimAsync(IReadOnlyDictionary{string, int}, Func{string, Type, bool}, TimeSpan, bool, CancellationToken)"/>;
    /// with <paramref name="checkIn"/> it also records that <see cref="Instance"/> is alive now, in the claim's own
    /// transaction (nothing is claimed unless the check-in is stored), without forgetting anyone (<see cref="CheckInAsync"/> does).
    /// </summary>
    Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(
        IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool> receives, TimeSpan lease, bool fanOut, bool checkIn, CancellationToken cancellationToken);

    private static bool EveryEvent(string handler, Type eventType) => true;

    /// <summary>Records the delivery as done; the handler's next event of that incident becomes due.</summary>
    Task CompleteAsync(long messageId, string handler, CancellationToken cancellationToken);

    /// <summary>Releases the lease and makes the delivery due again at <paramref name="notBefore"/>; its lane waits.</summary>
    Task RetryLaterAsync(long messageId, string handler, DateTimeOffset notBefore, string error, CancellationToken cancellationToken);

    /// <summary>Gives up on the delivery (recorded with the error, never claimed again), which unblocks its lane.</summary>
    Task FailAsync(long messageId, string handler, string error, CancellationToken cancellationToken);
}
