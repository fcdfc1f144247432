using System.Text;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.Outbound;

/// <summary>
/// Posts an incident's postmortem draft into a war room after the request was acknowledged: a message with the
/// dashboard and Markdown links, then the Markdown itself as a file in that message's thread. The file is a
/// bonus: without <c>files:write</c> (or when Slack refuses it) the links are still there and the refusal is
/// logged. Nothing here changes an incident, so a post lost in a crash costs only a repeated command.
/// </summary>
public sealed partial class PostmortemPublisher(
    ISlackApi slack,
    PostmortemService postmortems,
    IncidentLinks links,
    AfterAcknowledgement afterAck,
    ILogger<PostmortemPublisher> logger)
{
    /// <summary>Room for paced posts and a few Retry-After waits; a draft arriving later than this is not wanted.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public void PublishLater(IncidentNumber number, string channel, string fallback) =>
        afterAck.TryEnqueue("slack.postmortem", $"{number} in {channel}", Timeout, ct => PublishAsync(number, channel, fallback, ct));

    private async Task PublishAsync(IncidentNumber number, string channel, string fallback, CancellationToken cancellationToken)
    {
        var page = links.IncidentPage(number);
        var ts = await slack.PostMessageAsync(channel, SlackRenderer.Postmortem(number, page, links.PostmortemMarkdown(number), fallback), cancellationToken);

        var markdown = await postmortems.GetMarkdownAsync(number, page, includePrivate: true, cancellationToken);
        if (markdown is null)
        {
            return;
        }

        var file = new SlackFileUpload($"{number}-postmortem.md", $"{number} postmortem draft", Encoding.UTF8.GetBytes(markdown)) { ThreadTs = ts };
        try
        {
            await slack.UploadFileAsync(channel, file, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            // missing_scope (no files:write), file_uploads_disabled, …: the links above are the answer.
            LogUploadRefused(logger, number, ex.Method, ex.Error);
        }
        catch (Exception ex) when (ex is SlackRateLimitedException or SlackTransientException or HttpRequestException ||
            ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogUploadFailed(logger, number, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack refused the postmortem file of {Number} ({Method}: {Error}); only the links were posted. Uploading needs the files:write scope.")]
    private static partial void LogUploadRefused(ILogger logger, IncidentNumber number, string method, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Uploading the postmortem file of {Number} failed; only the links were posted")]
    private static partial void LogUploadFailed(ILogger logger, IncidentNumber number, Exception exception);
}
