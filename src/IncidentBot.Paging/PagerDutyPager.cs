using System.Net.Http.Json;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>
/// PagerDuty Events API v2: trigger, acknowledge and resolve by dedup_key, on the service the target names
/// (<c>pagerduty:payments</c> → <c>Paging:PagerDuty:RoutingKeys:payments</c>; plain <c>pagerduty</c> →
/// <c>Paging:PagerDuty:RoutingKey</c>). The Events API routes to a service, never to a person.
/// </summary>
public sealed class PagerDutyPager(PagerHttp http, IOptions<PagingOptions> options) : IPager
{
    public const int MaxSummaryLength = 1024;

    public string Name => Pagers.PagerDuty;

    public async Task SendAsync(PageMessage message, CancellationToken cancellationToken)
    {
        var settings = options.Value.PagerDuty;
        var routingKey = settings.RoutingKeyFor(message.Target.Service)
            ?? throw new PageFailedException($"Paging:PagerDuty:RoutingKeys:{message.Target.Service} is not set");
        var body = message.Action switch
        {
            PageAction.Trigger => new PagerDutyEvent(routingKey, "trigger", message.DedupKey, new PagerDutyPayload(
                Limit($"{message.Number} {message.Severity.ToLabel()}: {message.Title} ({message.Reason})", MaxSummaryLength),
                "incidentbot",
                ToPagerDutySeverity(message.Severity),
                message.OccurredAt,
                message.Number.ToString(),
                new Dictionary<string, string>
                {
                    ["incident"] = message.Number.ToString(),
                    ["escalation_level"] = message.Level.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["reason"] = message.Reason,
                }), "IncidentBot"),
            PageAction.Acknowledge => new PagerDutyEvent(routingKey, "acknowledge", message.DedupKey, null, null),
            _ => new PagerDutyEvent(routingKey, "resolve", message.DedupKey, null, null),
        };
        await http.SendAsync(Name, () => new HttpRequestMessage(HttpMethod.Post, settings.EventsUrl)
        {
            Content = JsonContent.Create(body, PagingJsonContext.Default.PagerDutyEvent),
        }, cancellationToken);
    }

    public static string ToPagerDutySeverity(Severity severity) => severity switch
    {
        Severity.Sev1 => "critical",
        Severity.Sev2 => "error",
        Severity.Sev3 => "warning",
        _ => "info",
    };

    internal static string Limit(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");
}
