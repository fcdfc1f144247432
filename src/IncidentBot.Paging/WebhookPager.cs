using System.Globalization;
using System.Text;
using System.Text.Json;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>A JSON POST signed the Standard Webhooks way; <c>webhook-id</c> is stable per page, so receivers can dedupe retries.</summary>
public sealed class WebhookPager(PagerHttp http, TimeProvider time, IOptions<PagingOptions> options) : IPager
{
    public string Name => Pagers.Webhook;

    public async Task SendAsync(PageMessage message, CancellationToken cancellationToken)
    {
        var settings = options.Value.Webhook;
        WebhookSignature.TryDecodeSecret(settings.Secret, out var key);
        var type = message.Action switch
        {
            PageAction.Trigger => "incident.paged",
            PageAction.Acknowledge => "incident.acknowledged",
            _ => "incident.resolved",
        };
        var body = JsonSerializer.Serialize(
            new WebhookPayload(type, message.OccurredAt, new WebhookIncident(
                message.Number.ToString(), message.Title, message.Severity.ToLabel(), message.Level, message.Reason, message.DedupKey)),
            PagingJsonContext.Default.WebhookPayload);
        await http.SendAsync(Name, () =>
        {
            // Signed at each try: receivers reject timestamps more than a few minutes old.
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            var request = new HttpRequestMessage(HttpMethod.Post, settings.Url)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("webhook-id", message.MessageId);
            request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(key, message.MessageId, timestamp, body));
            return request;
        }, cancellationToken);
    }
}
