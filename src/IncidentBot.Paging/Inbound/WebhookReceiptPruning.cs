using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging.Inbound;

/// <summary>Hourly, forgets webhook receipts a day older than the stale window: a replay that old is refused as stale anyway.</summary>
public sealed partial class WebhookReceiptPruning(
    WebhookReceipts receipts, IOptions<PagingOptions> options, TimeProvider time, ILogger<WebhookReceiptPruning> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    public static readonly TimeSpan Margin = TimeSpan.FromDays(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.PagerDuty.IsWebhookConfigured && !options.Value.Opsgenie.IsWebhookConfigured)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var pruned = await receipts.PruneAsync(time.GetUtcNow() - options.Value.PagerDuty.WebhookMaxAge - Margin, stoppingToken);
                    LogPruned(logger, pruned);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pruned {Count} pager webhook receipts")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning pager webhook receipts failed; trying again next hour")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
