using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// Answers an interaction through its <c>response_url</c> after the 200 went back. Only private notes to
/// the user (errors, confirmations) go this way: anything that changed an incident is already stored.
/// </summary>
public sealed partial class SlackResponder(IServiceScopeFactory scopes, ILogger<SlackResponder> logger)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public void RespondLater(Uri? responseUrl, SlackMessage message)
    {
        if (responseUrl is null)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            using var cts = new CancellationTokenSource(Timeout);
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<ISlackApi>().RespondAsync(responseUrl, message, cts.Token);
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answering through the response_url failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
