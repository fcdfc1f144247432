using IncidentBot.Core.Application;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>Wakes the <see cref="PageSweeper"/> when a sender finds a page held by another, so it looks at that claim's end.</summary>
public sealed class PageSweeperSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Wake()
    {
        try
        {
            if (_signal.CurrentCount == 0)
            {
                _signal.Release();
            }
        }
        catch (Exception ex) when (ex is SemaphoreFullException or ObjectDisposedException)
        {
            // Already woken, or shutting down.
        }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// Finishes pages whose sender died: at start and then whenever the next known claim runs out (at the latest every
/// <see cref="PagingOptions.SweepInterval"/>, for claims other instances made), every page still being sent under a claim
/// that ran out is sent again under the same keys (<see cref="PagingService.ResumeAsync"/>). Any instance may do it.
/// </summary>
public sealed partial class PageSweeper(
    PageLedger ledger,
    PagingService paging,
    PageSweeperSignal signal,
    TimeProvider time,
    IOptions<PagingOptions> options,
    ILogger<PageSweeper> logger) : BackgroundService
{
    private const int Batch = 16;
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(20);

    /// <summary>Sends again every page whose claim has run out; returns when the next known claim runs out, if any.</summary>
    public async Task<DateTimeOffset?> SweepAsync(CancellationToken cancellationToken)
    {
        // Mostly nothing has run out: then the earliest claim is all there is to know, one statement per wake-up.
        var earliest = await ledger.NextExpiryAsync(cancellationToken);
        if (earliest is not { } at || at >= time.GetUtcNow())
        {
            return earliest;
        }

        while (true)
        {
            var expired = await ledger.ExpiredClaimsAsync(Batch, cancellationToken);
            await Task.WhenAll(expired.Select(page => ResumeAsync(page, cancellationToken)));
            if (expired.Count < Batch)
            {
                return await ledger.NextExpiryAsync(cancellationToken);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        BackgroundWork.Enter();
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                var next = await SweepAsync(stoppingToken);
                var interval = options.Value.SweepInterval;
                var untilNext = next is { } at ? at - time.GetUtcNow() + Slack : interval;
                wait = untilNext < Slack ? Slack : untilNext > interval ? interval : untilNext;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogSweepFailed(logger, ex);
                wait = AfterFailure;
            }

            try
            {
                await signal.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ResumeAsync(PageLedgerRow page, CancellationToken cancellationToken)
    {
        try
        {
            await paging.ResumeAsync(page, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Left as it is: its claim runs out again and the next sweep takes it.
            LogResumeFailed(logger, ex, page.Action, page.Target, page.Number, page.Level);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for pages whose sender died failed; looking again shortly")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Action} to {Pager} for INC-{Number} level {Level} again failed; trying again when its claim runs out")]
    private static partial void LogResumeFailed(ILogger logger, Exception exception, string action, string pager, int number, int level);
}
