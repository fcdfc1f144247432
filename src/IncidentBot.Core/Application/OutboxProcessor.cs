using System.Collections.Concurrent;
using IncidentBot.Core.Incidents;
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
    /// The key of this handler's lanes in the outbox, stored with every delivery: unique among the handlers and
    /// the same across releases. Defaults to the type's full name; a handler whose type is renamed or moved should
    /// return its old name, or the events still pending under the old key are never delivered to it.
    /// </summary>
    string Name => GetType().FullName ?? GetType().Name;

    /// <summary>
    /// Whether events of <paramref name="eventType"/> reach this handler at all. Types it says no to get no delivery
    /// row, so a handler that ignores frequent events (notes) saves the outbox a lane write and a claim per event.
    /// Defaults to every type. Decided when an event is fanned out, so a type turned on later is not replayed.
    /// </summary>
    bool Receives(Type eventType) => true;

    Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken);
}

/// <summary>How the outbox is delivered (configuration section <c>Outbox</c>).</summary>
public sealed class OutboxOptions
{
    /// <summary>How long to wait for new events when nothing is due (a stored change wakes it sooner).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a claimed delivery is reserved for its claimer; a delivery still running then is cancelled and due again.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How many deliveries each handler claims at most at once and has running at once.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>After this many failed attempts of one handler on one event, that delivery is given up.</summary>
    public int MaxAttempts { get; set; } = 12;
}

/// <summary>Wakes the outbox processor when a change was stored, so events do not wait for the next poll.</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
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
public sealed partial class OutboxProcessor(
    IOutbox outbox,
    IEnumerable<IIncidentEventHandler> handlers,
    OutboxSignal signal,
    TimeProvider time,
    IOptions<OutboxOptions> options,
    ILogger<OutboxProcessor> logger) : BackgroundService
{
    private readonly Dictionary<string, IIncidentEventHandler> _handlers = ByName(handlers);

    // The deliveries running in this process, by (message, handler); each task completes after its slot is free.
    private readonly ConcurrentDictionary<(long MessageId, string Handler), Task> _running = new();

    /// <summary>
    /// Claims what is due now (for each handler as many deliveries as it has free slots), delivers them
    /// concurrently and waits for them; returns how many were claimed.
    /// </summary>
    public async Task<int> ProcessDueAsync(CancellationToken cancellationToken)
    {
        var started = await StartDueAsync(cancellationToken);
        await Task.WhenAll(started.Runs);
        return started.Claimed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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

                    // New events and finished deliveries (which free a slot, and may make a lane's next event due) signal.
                    await signal.WaitAsync(options.Value.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // The store may be briefly unavailable (restart, failover); keep polling.
                    LogPollFailed(logger, ex);
                    await Task.Delay(options.Value.PollInterval * 4, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            // The running deliveries see the cancellation; let them end before the services they use are disposed.
            await Task.WhenAll(_running.Values);
        }
    }

    /// <summary>Claims as many deliveries as each handler has free slots and starts them; each run completes once its slot is free.</summary>
    private async Task<(int Claimed, bool FilledAHandler, List<Task> Runs)> StartDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var capacity = _handlers.Keys.ToDictionary(
            name => name, name => Math.Max(0, settings.BatchSize - _running.Keys.Count(k => k.Handler == name)), StringComparer.Ordinal);
        if (capacity.Values.All(free => free == 0))
        {
            return (0, false, []);
        }

        var batch = await outbox.ClaimAsync(capacity, Receives, settings.Lease, cancellationToken);
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
                        signal.Notify();
                        run.SetResult();
                    }
                },
                CancellationToken.None);
            runs.Add(run.Task);
        }

        var filled = capacity.Any(c => c.Value > 0 && batch.Count(d => d.Handler == c.Key) == c.Value);
        return (batch.Count, filled, runs);
    }

    private bool Receives(string handler, Type eventType) => _handlers.TryGetValue(handler, out var h) && h.Receives(eventType);

    /// <summary>Runs one handler on one event and records the outcome; never throws.</summary>
    private async Task DeliverAsync(OutboxDelivery delivery, OutboxOptions settings, CancellationToken stoppingToken)
    {
        // The lease is this process's permission to deliver: once it runs out another claimer may take the delivery,
        // so the call is cancelled rather than left running beside a second one.
        using var leaseTimeout = new CancellationTokenSource(settings.Lease, time);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, leaseTimeout.Token);
        try
        {
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
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                await RetryOrGiveUpAsync(delivery, settings, ex, stoppingToken);
                return;
            }

            await outbox.CompleteAsync(delivery.MessageId, delivery.Handler, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the lease runs out and the delivery is claimed again, here after a restart or elsewhere.
        }
        catch (Exception ex)
        {
            // The outcome could not be stored; the lease runs out and the delivery is claimed again.
            LogOutcomeNotStored(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, ex);
        }
    }

    private async Task RetryOrGiveUpAsync(OutboxDelivery delivery, OutboxOptions settings, Exception ex, CancellationToken cancellationToken)
    {
        var error = $"{ex.GetType().Name}: {ex.Message}";
        if (delivery.Attempts >= settings.MaxAttempts)
        {
            LogGaveUp(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, delivery.Attempts, ex);
            await outbox.FailAsync(delivery.MessageId, delivery.Handler, error, cancellationToken);
            return;
        }

        var delay = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, delivery.Attempts)));
        LogRetry(logger, delivery.MessageId, delivery.Handler, delivery.Event.Number, delivery.Attempts, delay, ex);
        await outbox.RetryLaterAsync(delivery.MessageId, delivery.Handler, time.GetUtcNow() + delay, error, cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} failed in {Handler} (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, long id, string handler, IncidentNumber number, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} for {Number} failed {Attempt} times in {Handler}; giving up")]
    private static partial void LogGaveUp(ILogger logger, long id, string handler, IncidentNumber number, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} took {Handler} longer than the {Lease} lease; cancelled, it will be claimed again")]
    private static partial void LogLeaseExpired(ILogger logger, long id, string handler, IncidentNumber number, TimeSpan lease, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} ran in {Handler} but the outcome could not be stored; it will be claimed again")]
    private static partial void LogOutcomeNotStored(ILogger logger, long id, string handler, IncidentNumber number, Exception exception);
}
