using System.Threading.Channels;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Core.Application;

/// <summary>
/// Runs best-effort work after a chat request was answered: a command's reply, an answer through a reply URL, a
/// postmortem post. Chat platforms want their acknowledgement within seconds, and what a request changed is stored
/// (and reaches the war rooms through the outbox) before it is acknowledged, so what is left is only a courtesy a crash
/// may lose. Both adapters send it through here so that a burst of interactions opens at most a few outbound calls at
/// once, one slow call holds up only one of them, a full queue drops work (counted and logged) instead of holding up
/// the request, and shutdown gives queued work a short grace period before cancelling it.
/// </summary>
public sealed partial class AfterAcknowledgement : IHostedService, IDisposable
{
    /// <summary>Work waiting at most; more is dropped. A few minutes of replies in the worst burst we expect.</summary>
    internal const int DefaultCapacity = 1000;

    /// <summary>
    /// Calls at once: enough that a few throttled conversations (Retry-After) do not hold up every other reply, few
    /// enough that a burst does not open hundreds of connections.
    /// </summary>
    internal const int DefaultWorkers = 8;

    /// <summary>How long queued work may go on at shutdown before it is cancelled (the host's own shutdown timeout still bounds it).</summary>
    internal static readonly TimeSpan DefaultShutdownGrace = TimeSpan.FromSeconds(5);

    private readonly Channel<Work> _queue;
    private readonly int _capacity;
    private readonly int _workerCount;
    private readonly TimeSpan _shutdownGrace;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private Task _workers = Task.CompletedTask;
    private volatile bool _stopping;
    private Task? _stop;

    public AfterAcknowledgement(TimeProvider time, ILogger<AfterAcknowledgement> logger)
        : this(DefaultCapacity, DefaultWorkers, DefaultShutdownGrace, time, logger)
    {
    }

    internal AfterAcknowledgement(int capacity, int workers, TimeSpan shutdownGrace, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
        _capacity = capacity;
        _workerCount = workers;
        _shutdownGrace = shutdownGrace;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Queues <paramref name="run"/> to run within <paramref name="timeout"/>; never waits. <paramref name="work"/> is a
    /// fixed name (a metric tag, e.g. <c>adapter.reply</c>); <paramref name="subject"/> says for what, in logs only —
    /// an id or an incident number, never a capability URL or a token. Failures are logged, never thrown.
    /// </summary>
    /// <returns>False when the work was dropped: the queue is full or the host is stopping.</returns>
    public bool TryEnqueue(string work, string subject, TimeSpan timeout, Func<CancellationToken, Task> run)
    {
        ArgumentException.ThrowIfNullOrEmpty(work);
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(run);
        if (_queue.Writer.TryWrite(new Work(work, subject, timeout, run)))
        {
            return true;
        }

        if (_stopping)
        {
            Count(work, "cancelled");
            LogRefusedStopping(_logger, work, subject);
        }
        else
        {
            Count(work, "dropped");
            LogDropped(_logger, work, subject, _capacity);
        }

        return false;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _workers = Task.WhenAll(Enumerable.Range(0, _workerCount).Select(_ => Task.Run(WorkAsync, CancellationToken.None)));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Takes no more work, lets what is queued run for the grace period, then cancels what is left. Safe to call again
    /// or at the same time (a host run by <c>RunAsync</c> and stopped from outside stops twice): every call waits for the one stop.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task stop;
        lock (_gate)
        {
            stop = _stop ??= DrainAsync(cancellationToken);
        }

        try
        {
            await stop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host stops waiting for us.
        }
    }

    /// <summary>Cancels whatever still runs. The cancellation source is not disposed: a stop may still be using it, and it holds no timer.</summary>
    public void Dispose()
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        _abort.Cancel();
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        using (var grace = new CancellationTokenSource(_shutdownGrace, _time))
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(grace.Token, cancellationToken))
        {
            try
            {
                await _workers.WaitAsync(wait.Token);
            }
            catch (OperationCanceledException) when (wait.IsCancellationRequested)
            {
                // The grace period (or the host's shutdown timeout) is over.
                await _abort.CancelAsync();
            }
        }

        var notRun = 0;
        while (_queue.Reader.TryRead(out var left))
        {
            notRun++;
            Count(left.Name, "cancelled");
        }

        if (notRun > 0)
        {
            LogNotRun(_logger, notRun, _shutdownGrace);
        }

        try
        {
            // Cancelled work ends at once: a worker stops waiting for work that ignores its token.
            await _workers.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host stops waiting for us.
        }
    }

    private async Task WorkAsync()
    {
        // The store gives this work only the background share of its connections: a request being acknowledged comes first.
        BackgroundWork.Enter();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_abort.Token))
            {
                if (_queue.Reader.TryRead(out var work))
                {
                    await RunAsync(work);
                }
            }
        }
        catch (OperationCanceledException) when (_abort.Token.IsCancellationRequested)
        {
            // Shutdown's grace period is over: the stop counts what is still queued.
        }
    }

    private async Task RunAsync(Work work)
    {
        using var timeout = new CancellationTokenSource(work.Timeout, _time);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _abort.Token);
        try
        {
            // Taken just as the grace period ended: not started at all.
            cancel.Token.ThrowIfCancellationRequested();

            // WaitAsync: work that ignores its token still frees this worker when its time is up.
            await work.Run(cancel.Token).WaitAsync(cancel.Token);
            Count(work.Name, "done");
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            if (timeout.IsCancellationRequested)
            {
                Count(work.Name, "timed_out");
                LogTimedOut(_logger, work.Name, work.Subject, work.Timeout);
            }
            else
            {
                Count(work.Name, "cancelled");
                LogCancelled(_logger, work.Name, work.Subject, _shutdownGrace);
            }
        }
        catch (Exception ex)
        {
            Count(work.Name, "failed");
            LogFailed(_logger, work.Name, work.Subject, ex);
        }
    }

    private static void Count(string work, string outcome) =>
        IncidentBotTelemetry.AfterAcknowledgementWork.Add(1, new("work", work), new("outcome", outcome));

    private sealed record Work(string Name, string Subject, TimeSpan Timeout, Func<CancellationToken, Task> Run);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: queue full ({Capacity} waiting), dropped {Work} for {Subject}")]
    private static partial void LogDropped(ILogger logger, string work, string subject, int capacity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: shutting down, dropped {Work} for {Subject}")]
    private static partial void LogRefusedStopping(ILogger logger, string work, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: {Work} for {Subject} failed")]
    private static partial void LogFailed(ILogger logger, string work, string subject, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: {Work} for {Subject} did not finish within {Timeout}; cancelled")]
    private static partial void LogTimedOut(ILogger logger, string work, string subject, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: {Work} for {Subject} did not finish within the {Grace} shutdown grace period; cancelled")]
    private static partial void LogCancelled(ILogger logger, string work, string subject, TimeSpan grace);

    [LoggerMessage(Level = LogLevel.Warning, Message = "After acknowledgement: {Count} queued items did not start within the {Grace} shutdown grace period; dropped")]
    private static partial void LogNotRun(ILogger logger, int count, TimeSpan grace);
}
