using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Application;

/// <summary>
/// Reacts to incident events after they are stored: creates war rooms, posts cards, schedules reminders.
/// Delivery is at-least-once, so a handler must be idempotent (an event may arrive again after a crash).
/// </summary>
public interface IIncidentEventHandler
{
    Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken);
}

public sealed class OutboxOptions
{
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);
    public int BatchSize { get; set; } = 32;
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
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>Delivers outbox events to every <see cref="IIncidentEventHandler"/>, retrying with backoff.</summary>
public sealed partial class OutboxProcessor(
    IOutbox outbox,
    IEnumerable<IIncidentEventHandler> handlers,
    OutboxSignal signal,
    TimeProvider time,
    IOptions<OutboxOptions> options,
    ILogger<OutboxProcessor> logger) : BackgroundService
{
    private readonly IIncidentEventHandler[] _handlers = handlers.ToArray();

    /// <summary>Processes what is due now; returns how many messages were claimed.</summary>
    public async Task<int> ProcessDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var batch = await outbox.ClaimAsync(settings.BatchSize, settings.Lease, cancellationToken);
        foreach (var message in batch)
        {
            await DeliverAsync(message, settings, cancellationToken);
        }

        return batch.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await ProcessDueAsync(stoppingToken) > 0)
                {
                    continue;
                }

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

    private async Task DeliverAsync(OutboxMessage message, OutboxOptions settings, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var handler in _handlers)
            {
                await handler.HandleAsync(message.Event, cancellationToken);
            }

            await outbox.CompleteAsync(message.Id, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var error = $"{ex.GetType().Name}: {ex.Message}";
            if (message.Attempts >= settings.MaxAttempts)
            {
                LogGaveUp(logger, message.Id, message.Event.Number, message.Attempts, ex);
                await outbox.FailAsync(message.Id, error, cancellationToken);
                return;
            }

            var delay = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, message.Attempts)));
            LogRetry(logger, message.Id, message.Event.Number, message.Attempts, delay, ex);
            await outbox.RetryLaterAsync(message.Id, time.GetUtcNow() + delay, error, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox poll failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Outbox message {Id} for {Number} failed (attempt {Attempt}); retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, long id, IncidentNumber number, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox message {Id} for {Number} failed {Attempt} times; giving up")]
    private static partial void LogGaveUp(ILogger logger, long id, IncidentNumber number, int attempt, Exception exception);
}
