using System.Net.Http.Headers;
using System.Net.Http.Json;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>
/// Opsgenie Alert API v2 (and Jira Service Management's integration API, which takes the same requests): create,
/// acknowledge and close by alias. A target naming a responder (<c>opsgenie:team:Payments</c>) adds it to the alert;
/// plain <c>opsgenie</c> leaves routing to the integration's rules.
/// </summary>
public sealed class OpsgeniePager(PagerHttp http, IOptions<PagingOptions> options) : IPager
{
    public const int MaxMessageLength = 130;

    public string Name => Pagers.Opsgenie;

    public async Task SendAsync(PageMessage message, CancellationToken cancellationToken)
    {
        var settings = options.Value.Opsgenie;
        var baseUrl = settings.ApiUrl.TrimEnd('/');
        var alias = Uri.EscapeDataString(message.DedupKey);
        var (url, createContent) = message.Action switch
        {
            PageAction.Trigger => ($"{baseUrl}/v2/alerts", (Func<HttpContent>)(() => JsonContent.Create(new OpsgenieAlert(
                PagerDutyPager.Limit($"{message.Number} {message.Severity.ToLabel()}: {message.Title}", MaxMessageLength),
                message.DedupKey,
                $"{message.Reason} (escalation level {message.Level})",
                $"P{(int)message.Severity}",
                ["incidentbot", message.Severity.ToLabel().ToLowerInvariant()],
                new Dictionary<string, string> { ["incident"] = message.Number.ToString(), ["level"] = message.Level.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                "IncidentBot",
                message.Number.ToString(),
                Responders(message.Target)), PagingJsonContext.Default.OpsgenieAlert))),
            PageAction.Acknowledge => ($"{baseUrl}/v2/alerts/{alias}/acknowledge?identifierType=alias",
                () => JsonContent.Create(new OpsgenieAction("IncidentBot", $"{message.Number} acknowledged in chat"), PagingJsonContext.Default.OpsgenieAction)),
            _ => ($"{baseUrl}/v2/alerts/{alias}/close?identifierType=alias",
                () => JsonContent.Create(new OpsgenieAction("IncidentBot", $"{message.Number} resolved"), PagingJsonContext.Default.OpsgenieAction)),
        };
        await http.SendAsync(Name, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = createContent() };
            request.Headers.Authorization = new AuthenticationHeaderValue("GenieKey", settings.ApiKey);
            return request;
        }, cancellationToken);
    }

    private static IReadOnlyList<OpsgenieResponder>? Responders(PageTarget target) => target.ResponderType switch
    {
        null => null,
        "user" => [new OpsgenieResponder("user", null, target.Responder)],
        var type => [new OpsgenieResponder(type, target.Responder, null)],
    };
}
