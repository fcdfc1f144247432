using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.State;

/// <summary>Forgets Events API receipts after 25 hours: Slack's delayed-event retries stop after 24.</summary>
public sealed partial class SlackReceiptPruner(SlackStateStore state, IOptions<SlackOptions> options, TimeProvider time, ILogger<SlackReceiptPruner> logger) : BackgroundService
{
    private static readonly TimeSpan Keep = TimeSpan.FromHours(25);
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(Every, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                var pruned = await state.PruneReceiptsAsync(Keep, stoppingToken);
                LogPruned(logger, pruned);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Pruned {Count} Slack event receipts")]
    private static partial void LogPruned(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pruning Slack event receipts failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
