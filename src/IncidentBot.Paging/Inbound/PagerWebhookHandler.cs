using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// Acts on an authenticated pager webhook event: an ack acknowledges the incident through the same flow as a chat
/// <c>ack</c> (so escalation stops and the incident's other alerts are acknowledged at their pagers), a resolve is
/// recorded or, with <c>Paging:ResolveIncidentFromPager</c>, resolves the incident. Events about other alerts or of
/// other kinds are logged and ignored, so the pager is answered 2xx and does not retry them.
/// </summary>
public sealed partial class PagerWebhookHandler(IncidentService incidents, IOptions<PagingOptions> options, ILogger<PagerWebhookHandler> logger)
{
    public async Task HandleAsync(PagerWebhookEvent webhookEvent, CancellationToken cancellationToken)
    {
        if (webhookEvent.Change == PagerAlertChange.Other)
        {
            LogIgnoredType(logger, webhookEvent.Pager, webhookEvent.Type, webhookEvent.EventId);
            return;
        }

        if (!AlertKeys.TryParseIncident(webhookEvent.AlertKey, out var number))
        {
            LogIgnoredAlert(logger, webhookEvent.Pager, webhookEvent.Type, webhookEvent.AlertKey ?? "(none)");
            return;
        }

        var report = new PagerReport(webhookEvent.Pager, webhookEvent.AlertKey!, webhookEvent.By, webhookEvent.OccurredAt);
        var outcome = webhookEvent.Change == PagerAlertChange.Acknowledged
            ? await incidents.AcknowledgeFromPagerAsync(number, report, cancellationToken)
            : await incidents.ResolveFromPagerAsync(number, report, options.Value.ResolveIncidentFromPager, cancellationToken);
        switch (outcome)
        {
            case PagerReportOutcome.Applied:
                LogApplied(logger, webhookEvent.Pager, webhookEvent.Type, number, webhookEvent.AlertKey!);
                break;
            case PagerReportOutcome.NothingToDo:
                LogNothingToDo(logger, webhookEvent.Pager, webhookEvent.Type, number);
                break;
            default:
                LogIgnoredAlert(logger, webhookEvent.Pager, webhookEvent.Type, webhookEvent.AlertKey!);
                break;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pager} {Type} ({AlertKey}) applied to {Number}")]
    private static partial void LogApplied(ILogger logger, string pager, string type, IncidentNumber number, string alertKey);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pager} {Type} for {Number} changes nothing (already acknowledged or resolved)")]
    private static partial void LogNothingToDo(ILogger logger, string pager, string type, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pager} webhook event {Type} ({EventId}) ignored: the bot acts on acknowledgements and resolves only")]
    private static partial void LogIgnoredType(ILogger logger, string pager, string type, string eventId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pager} {Type} for alert {AlertKey} ignored: not an alert of an incident of this bot")]
    private static partial void LogIgnoredAlert(ILogger logger, string pager, string type, string alertKey);
}
