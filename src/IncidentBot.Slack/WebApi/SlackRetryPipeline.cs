using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace IncidentBot.Slack.WebApi;

/// <summary>The retry policy shared by every Web API call: Retry-After on 429, exponential backoff otherwise.</summary>
public sealed partial class SlackRetryPipeline
{
    public SlackRetryPipeline(TimeProvider time, ILogger<SlackRetryPipeline> logger)
    {
        Pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(60),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    SlackRateLimitedException or SlackTransientException or HttpRequestException => true,
                    OperationCanceledException => !args.Context.CancellationToken.IsCancellationRequested,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is SlackRateLimitedException limited ? limited.RetryAfter : (TimeSpan?)null),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();
    }

    public ResiliencePipeline Pipeline { get; }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retrying a Slack call (attempt {Attempt}) in {Delay}: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, string reason);
}
