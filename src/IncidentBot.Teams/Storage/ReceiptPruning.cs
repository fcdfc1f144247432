using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Storage;

/// <summary>Keeps the activity-receipt table small: hourly, receipts older than two days are deleted.</summary>
public sealed partial class ReceiptPruning(TeamsStore store, TimeProvider time, ILogger<ReceiptPruning> logger) : BackgroundService
{
    public static readonly TimeSpan Keep = TimeSpan.FromDays(2);
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var removed = await store.PruneActivitiesAsync(time.GetUtcNow() - Keep, stoppingToken);
                    LogPruned(logger, removed);
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: pruned {Count} activity receipts")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: pruning activity receipts failed; trying again next hour")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
