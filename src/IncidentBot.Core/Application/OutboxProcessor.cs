using System.Collections.Concurrent;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Application;

/// <summary>
/// Reacts to incident events after they are stored: creates war rooms, posts cards, schedules reminders.
/// Delivery is at-least-once, so a handler must be idempotent (an event may arrive again after a crash). Each
/// handler receives an incident's events in order through lanes of its own (see <see cref="IOutbox"/>), so it
/// must not count on another handler having handled an event first.
/// </summary>
public interface IIncidentEventHandler
{
    /// <summary>
    /// The key of this handler's lanes in the outbox, stored with every delivery: a short constant (e.g. <c>reminders</c>),
    /// unique among the handlers and the same across releases, whatever the type is called. Changing
    /// it strands the events pending under the old name unless a migration renames their lanes.
    /// </summary>
    string Name { get; }

    /// <summary>Where this handler delivers, in words for people (the chat platform's name): named in the timeline when a delivery is given up.</summary>
    string Destination => Name;

    /// <summary>
    /// Whether events of <paramref name="eventType"/> reach this handler at all. Types it says no to get no delivery
    /// row, so a handler that ignores frequent events (notes) saves the outbox a lane write and a claim per event.
    /// Defaults to every type. Decided when an event is fanned out, so a type turned on later is not replayed. Timeline-only
    /// events (<see cref="OutboxRoutes"/>: notes) are never queued, so no handler gets them whatever it says here.
    /// </summary>
    bool Receives(Type eventType) => true;

    Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken);
}

/// <summary>How the outbox is delivered (configuration section <c>Outbox</c>).</summary>
public sealed class OutboxOptions
{
    public const string Section = "Outbox";

    /// <summary>
    /// How long to wait for new events when nothing is due (a stored change wakes it sooner). While another instance's
    /// changes are pushed (PostgreSQL <c>LISTEN</c>, see <see cref="OutboxSignal.PushedAcrossInstances"/>) an idle
    /// instance waits <see cref="CheckinInterval"/> instead.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a claimed delivery is reserved for its claimer at most; a delivery still running then is cancelled and
    /// due again. The upper bound only: a claimer that stops checking in frees its claims much sooner.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long one delivery (every platform call it makes, with their retries) may take before it is cancelled and
    /// counted as a failed attempt. Shorter than <see cref="Lease"/>, so the claimer records the outcome itself.
    /// </summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How often each instance records that it is alive. The claims of an instance silent for twice this long (killed,
    /// frozen, cut off) are taken over by the others, or by itself after a restart.
    /// </summary>
    public TimeSpan CheckinInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many deliveries each handler claims at most at once and has running at once.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>After this many failed attempts of one handler on one event, that delivery is given up.</summary>
    public int MaxAttempts { get; set; } = 12;
}

/// <summary>Wakes the outbox processor when a change was stored, so events do not wait for the next poll.</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private volatile bool _pushedAcrossInstances;
    private int _stored = 1;

    /// <summary>
    /// True while events stored by any instance wake this one (the store listens for them), so an idle instance need
    /// not poll for other instances' work; false when the store cannot push them, or while it reconnects.
    /// </summary>
    public bool PushedAcrossInstances
    {
        get => _pushedAcrossInstances;
        set => _pushedAcrossInstances = value;
    }

    /// <summary>Events were stored (by this instance, or by any while they are pushed): the next claim fans them out.</summary>
    public void Notify()
    {
        Volatile.Write(ref _stored, 1);
        Wake();
    }

    /// <summary>Something already fanned out may be due (a slot came free, a retry came due): a claim, no fan-out.</summary>
    public void Wake()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another caller signalled first; one wake-up is enough.
            }
            catch (ObjectDisposedException)
            {
                // The host is shutting down; nobody waits any more.
            }
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    /// <summary>Whether events were stored since the last call (or ever, on the first); resets it.</summary>
    public bool TakeStored() => Interlocked.Exchange(ref _stored, 0) == 1;

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// Delivers outbox events to every <see cref="IIncidentEventHandler"/>, each through its own lane per incident:
/// a handler that fails is retried with exponential backoff (and given up on after
/// <see cref="OutboxOptions.MaxAttempts"/>) on its own, holding back only its own later events of that incident,
/// while the other handlers and the other incidents carry on. Each handler has
/// <see cref="OutboxOptions.BatchSize"/> delivery slots of its own, refilled as deliveries finish, so a handler
/// that hangs (a chat platform timing out) can fill only its own slots and never delays another handler.
/// </summary>
/// <remarks>
/// The instance checks in every <see cref="OutboxOptions.CheckinInterval"/> and claims only while its check-in is fresh,
/// so the claims it holds are never taken for a dead instance's. A delivery is cut off at
/// <see cref="OutboxOptions.DeliveryTimeout"/> and that counts as an attempt; one claimed more than
/// <see cref="OutboxOptions.MaxAttempts"/> times (its earlier attempts died with their process or outlived their
/// lease) is given up without running. Giving up is never silent: a timeline entry, an error log and a metric.
/// It stops as the host begins to stop, before any service does (<see cref="StoppingAsync"/>).
/// </remarks>
public sealed partial class OutboxProcessor(
    IOutbox outbox,
    IEnumerable<IIncidentEventHandler> handlers,
    OutboxSignal signal,
    IncidentService incidents,
    TimeProvider time,
    IOptions<OutboxOptions> options,
    ILogger<OutboxProcessor> logger) : BackgroundService, IHostedLifecycleService
{
    private readonly Dictionary<string, IIncidentEventHandler> _handlers = ByName(handlers);

    // The deliveries running in this process, by (message, handler); each task completes after its slot is free.
    private readonly ConcurrentDictionary<(long MessageId, string Handler), Task> _running = new();

    // When this instance last checked in; null until its first check-in succeeds.
    private DateTimeOffset? _checkedInAt;

    // When this instance last forgot the instances that stopped checking in (only housekeeping and a log line: their
    // claims are free as soon as their check-in is stale, row or no row).
    private DateTimeOffset _forgotAt;

    /// <summary>How often an instance forgets the instances that stopped checking in.</summary>
    public static readonly TimeSpan ForgetInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Stops delivering before the host stops any service. The handlers' own services (the scheduler, say) are
    /// registered after this one and so stop before it: a delivery still running into one of them as it shut down
    /// held the host's stop for its whole shutdown timeout.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Claims what is due now (for each handler as many deliveries as it has free slots), delivers them
    /// concurrently and waits for them; returns how many were claimed.
    /// </summary>
    public async Task<int> ProcessDueAsync(CancellationToken cancellationToken)
    {
        BackgroundWork.Enter();
        var started = await StartDueAsync(cancellationToken);
        await Task.WhenAll(started.Runs);
        return started.Claimed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Deliveries yield to inbound requests: they hold only the background share of the store's connections.
        BackgroundWork.Enter();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if ((await StartDueAsync(stoppingToken)).FilledAHandler)
                    {
                        // A handler took all it had room for, so more may be due.
                        continue;
                    }

                    // New events (of any instance, while they are pushed), finished deliveries (which free a slot, and may
                    // make a lane's next event due) and retries coming due signal; the timeout keeps the check-ins coming
                    // while nothing happens, and polls for other instances' events while they are not pushed.
                    var settings = options.Value;
                    var idle = signal.PushedAcrossInstances || settings.PollInterval > settings.CheckinInterval ? settings.CheckinInterval : settings.PollInterval;
                    await signal.WaitAsync(idle, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // The store may be briefly unavailable (restart, failover); keep polling. Until this instance has
                    // checked in again it claims nothing.
                    LogPollFailed(logger, ex);
                    await Task.Delay(options.Value.PollInterval * 4, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            // The running deliveries see the cancellation; let them end before the services they use are disposed.
            await Task.WhenAll(_running.Values);
            await CheckOutAsync();
        }
    }

    /// <summary>Claims as many deliveries as each handler has free slots and starts them; each run completes once its slot is free.</summary>
    private async Task<(int Claimed, bool FilledAHandler, List<Task> Runs)> StartDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var checkIn = await CheckInAsync(settings, cancellationToken);

        var capacity = _handlers.Keys.ToDictionary(
            name => name, name => Math.Max(0, settings.BatchSize - _running.Keys.Count(k => k.Handler == name)), StringComparer.Ordinal);
        if (capacity.Values.All(free => free == 0))
        {
            if (checkIn)
            {
                await outbox.CheckInAsync(starting: false, cancellationToken);
                _checkedInAt = time.GetUtcNow();
            }

            return (0, false, []);
        }

        // While every instance's stores are pushed, a wake-up without one (a freed slot, a due retry, the check-in
        // timeout) has nothing new to fan out: the claim alone, one statement.
        var fanOut = signal.TakeStored() || !signal.PushedAcrossInstances;
        IReadOnlyList<OutboxDelivery> batch;
        try
        {
            var claimedAt = time.GetUtcNow();
            batch = await outbox.ClaimAsync(capacity, Receives, settings.Lease, fanOut, checkIn, cancellationToken);
            if (checkIn)
            {
                _checkedInAt = claimedAt;
            }
        }
        catch (Exception) when (fanOut)
        {
            // Not fanned out after all: the next round must.
            signal.Notify();
            throw;
        }

        var runs = new List<Task>(batch.Count);
        foreach (var delivery in batch)
        {
            // A claim hands out at most one delivery per lane, so the runs of a batch never wait on each other.
            var key = (delivery.MessageId, delivery.Handler);
            var run = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_running.TryAdd(key, run.Task))
            {
                // Claimed again just as its lease ran out while it still runs here (being cancelled): never run it twice.
                continue;
            }

            _ = Task.Run(
                async () =>
                {
                    try
                    {
                        await DeliverAsync(delivery, settings, cancellationToken);
                    }
                    finally
                    {
                        _running.TryRemove(key, out _);
                        signal.Wake();
                        run.SetResult();
                    }
                },
                CancellationToken.None);
            runs.Add(run.Task);
        }

        var filled = capacity.Any(c => c.Value > 0 && batch.Count(d => d.Handler == c.Key) == c.Value);
        return (batch.Count, filled, runs);
    }

    /// <summary>
    /// Checks in at start and about every <see cref="ForgetInterval"/>, forgetting the instances gone meanwhile; when
    /// that fails it throws, so nothing is claimed. Between those, returns whether the last check-in is an interval old:
    /// the claim then checks in too, in its own transaction (an instance whose check-in is not fresh may have its claims
    /// taken for a dead instance's, so it claims nothing unless it checked in).
    /// </summary>
    private async Task<bool> CheckInAsync(OutboxOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_checkedInAt is { } last && now - _forgotAt < ForgetInterval)
        {
            return now - last >= settings.CheckinInterval;
        }

        var gone = await outbox.CheckInAsync(starting: _checkedInAt is null, cancellationToken);
        if (_checkedInAt is null)
        {
            LogCheckedIn(logger, outbox.Instance, settings.CheckinInterval);
        }

        _checkedInAt = now;
        _forgotAt = now;
        foreach (var instance in gone)
        {
            LogInstanceGone(logger, instance);
        }

        return false;
    }

    private async Task CheckOutAsync()
    {
        if (_checkedInAt is null)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await outbox.CheckOutAsync(timeout.Token);
        }
        catch (Exception ex)
        {
            // The check-in goes stale instead; the claims left behind are free a little later.
            LogCheckOutFailed(logger, outbox.Instance, ex);
        }
    }

    private bool Receives(string handler, Type eventType) => _handlers.TryGetValue(handler, out var h) && h.Receives(eventType);

    /// <summary>Runs one handler on one event and records the outcome; never throws.</summary>
    private async Task DeliverAsync(OutboxDelivery delivery, OutboxOptions settings, CancellationToken stoppingToken)
    {
        // The lease is this process's permission to deliver: once it runs out another claimer may take the delivery,
        // so the call is cancelled rather than left running beside a second one. The delivery timeout comes first, so
        // normally the outcome is recorded here while the lease still holds.
        using var leaseTimeout = new CancellationTokenSource(settings.Lease, time);
        using var deliveryTimeout = new CancellationTokenSource(settings.DeliveryTimeout, time);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, leaseTimeout.Token, deliveryTimeout.Token);
        try
        {
            if (delivery.Attempts > settings.MaxAttempts)
            {
                // Its earlier attempts ended without an outcome (their process died, or they outlived the lease).
                await GiveUpAsync(delivery, GiveUpReason.Abandoned, $"no outcome recorded in {delivery.Attempts - 1} attempts", null, stoppingToken);
                return;
            }

            try
            {
                await _handlers[delivery.Handler].HandleAsync(delivery.Event, cancellation.Token);
            }
            catch (Exception ex) when (leaseTimeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
            {
                // Due again already; leave the row to whoever claims it next (its attempt is counted).
                LogLeaseExpired(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, settings.Lease, ex);
                return;
            }
            catch (Exception ex) when (deliveryTimeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
            {
                await RetryOrGiveUpAsync(delivery, settings, GiveUpReason.Timeout, $"timed out after {settings.DeliveryTimeout}", ex, stoppingToken);
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                await RetryOrGiveUpAsync(delivery, settings, GiveUpReason.Error, $"{ex.GetType().Name}: {ex.Message}", ex, stoppingToken);
                return;
            }

            await outbox.CompleteAsync(delivery.MessageId, delivery.Handler, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the claim is released at check-out and taken again, here after a restart or elsewhere.
        }
        catch (Exception ex)
        {
            // The outcome could not be stored; the claim is taken again once the lease runs out (its attempt is counted).
            LogOutcomeNotStored(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, ex);
        }
    }

    private async Task RetryOrGiveUpAsync(
        OutboxDelivery delivery, OutboxOptions settings, GiveUpReason reason, string error, Exception ex, CancellationToken cancellationToken)
    {
        if (delivery.Attempts >= settings.MaxAttempts)
        {
            await GiveUpAsync(delivery, reason, error, ex, cancellationToken);
            return;
        }

        var delay = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, delivery.Attempts)));
        LogRetry(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, delivery.Attempts, delay, ex);
        await outbox.RetryLaterAsync(delivery.MessageId, delivery.Handler, time.GetUtcNow() + delay, error, cancellationToken);
        _ = WakeWhenDueAsync(delay, cancellationToken);
    }

    // An idle instance may not poll for seconds; the retry it scheduled wakes it when due.
    private async Task WakeWhenDueAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        signal.Wake();
    }

    /// <summary>
    /// Ends a delivery for good, visibly: the incident's timeline says what did not get where (written first, so a crash
    /// in between repeats the entry rather than losing it), an error is logged and counted, and the lane moves on.
    /// </summary>
    private async Task GiveUpAsync(OutboxDelivery delivery, GiveUpReason reason, string error, Exception? ex, CancellationToken cancellationToken)
    {
        var handler = _handlers[delivery.Handler];
        var tag = reason switch
        {
            GiveUpReason.Timeout => "timeout",
            GiveUpReason.Abandoned => "abandoned",
            _ => "error",
        };
        LogGaveUp(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, delivery.Attempts, tag, error, ex);
        IncidentBotTelemetry.OutboxGaveUp.Add(1, new KeyValuePair<string, object?>("handler", delivery.Handler), new KeyValuePair<string, object?>("reason", tag));
        await incidents.RecordDeliveryFailureAsync(
            delivery.Event.Number, TimelineText.DeliveryGivenUp(delivery.Event, handler.Destination, delivery.Attempts), cancellationToken);
        await outbox.FailAsync(delivery.MessageId, delivery.Handler, error, cancellationToken);
    }

    private enum GiveUpReason
    {
        Error,
        Timeout,
        Abandoned,
    }

    private static Dictionary<string, IIncidentEventHandler> ByName(IEnumerable<IIncidentEventHandler> handlers)
    {
        var byName = new Dictionary<string, IIncidentEventHandler>(StringComparer.Ordinal);
        foreach (var handler in handlers)
        {
            var name = handler.Name;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new InvalidOperationException($"The incident event handler {handler.GetType().FullName} has an empty Name; its outbox lanes are keyed by it.");
            }

            if (!byName.TryAdd(name, handler))
            {
                throw new InvalidOperationException(
                    $"Two incident event handlers are named '{name}' ({byName[name].GetType().FullName} and {handler.GetType().FullName}); "
                    + "each needs outbox lanes of its own, so names must be unique.");
            }
        }

        return byName;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox poll failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Outbox instance {Instance} checked in; it checks in every {Interval}")]
    private static partial void LogCheckedIn(ILogger logger, string instance, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox instance {Instance} stopped checking in; its claims are taken over")]
    private static partial void LogInstanceGone(ILogger logger, string instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox instance {Instance} could not check out; its claims are free once its check-in is stale")]
    private static partial void LogCheckOutFailed(ILogger logger, string instance, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} failed in {Handler} (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, long id, string handler, IncidentNumber number, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} for {Number} gave up in {Handler} after {Attempt} attempts ({Reason}: {Error})")]
    private static partial void LogGaveUp(ILogger logger, long id, string handler, IncidentNumber number, int attempt, string reason, string error, Exception? exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} took {Handler} longer than the {Lease} lease; cancelled, it will be claimed again")]
    private static partial void LogLeaseExpired(ILogger logger, long id, string handler, IncidentNumber number, TimeSpan lease, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} ran in {Handler} but the outcome could not be stored; it will be claimed again")]
    private static partial void LogOutcomeNotStored(ILogger logger, long id, string handler, IncidentNumber number, Exception exception);
}
