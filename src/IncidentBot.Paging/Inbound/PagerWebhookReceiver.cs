using System.Globalization;
using IncidentBot.Core.Security;
using IncidentBot.Core.Telemetry;
using IncidentBot.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging.Inbound;

/// <summary>
/// <c>POST /paging/pagerduty</c> and <c>POST /paging/opsgenie</c>. Each answers 404 until its secret or token is
/// configured. A client that failed authentication too often is turned away first (429); Opsgenie's token is checked
/// before the body is read, PagerDuty's signature on the raw body, read up to the endpoint's limit (413 past it);
/// unauthenticated or stale requests get 401 and count as failures. An event already acted on (same event id) and
/// events the bot does not act on get 200 and change nothing, so the pager does not retry them.
/// </summary>
public sealed partial class PagerWebhookReceiver(
    IOptions<PagingOptions> options,
    PagerWebhookHandler handler,
    InboundReceipts receipts,
    FailureLimiter failures,
    TimeProvider time,
    ILogger<PagerWebhookReceiver> logger)
{
    /// <summary>PagerDuty drops webhooks above 256 KB.</summary>
    public const int MaxPagerDutyBodyBytes = 256 * 1024;

    /// <summary>Alert action data is a few KB (descriptions and details are cut to 1000 characters).</summary>
    public const int MaxOpsgenieBodyBytes = 64 * 1024;

    /// <summary>How far in the future an event's time may be (clock skew) before it is refused as stale.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public async Task<IResult> PagerDutyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        const string endpoint = "pagerduty";
        var settings = options.Value.PagerDuty;
        if (!settings.IsWebhookConfigured)
        {
            return TypedResults.NotFound();
        }

        var client = Client(http);
        if (Blocked(http, endpoint, client) is { } blocked)
        {
            return blocked;
        }

        var body = await ReadBodyAsync(http.Request, MaxPagerDutyBodyBytes, cancellationToken);
        if (body is null)
        {
            return Refuse(endpoint, client, StatusCodes.Status413PayloadTooLarge, "too_large", $"body over {MaxPagerDutyBodyBytes} bytes");
        }

        if (!PagerDutyWebhook.IsSigned(settings.WebhookSecret!, http.Request.Headers[PagerDutyWebhook.SignatureHeader].ToString(), body))
        {
            // Only failures count: PagerDuty's own deliveries are signed, so they are never throttled.
            failures.RecordFailure(client);
            return Refuse(endpoint, client, StatusCodes.Status401Unauthorized, "unauthenticated", $"missing or wrong {PagerDutyWebhook.SignatureHeader}");
        }

        if (Parse(endpoint, client, () => PagerDutyWebhook.Parse(body)) is not { } webhookEvent)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not a PagerDuty v3 webhook event");
        }

        // Signed once, valid forever: a captured delivery replayed after its receipt was pruned is refused by its age.
        var age = time.GetUtcNow() - webhookEvent.OccurredAt;
        if (age > settings.WebhookMaxAge || age < -ClockSkew)
        {
            failures.RecordFailure(client);
            return Refuse(endpoint, client, StatusCodes.Status401Unauthorized, "stale",
                $"stale event {webhookEvent.EventId}: occurred at {webhookEvent.OccurredAt:O}, outside Paging:PagerDuty:WebhookMaxAge ({settings.WebhookMaxAge})");
        }

        return await HandleOnceAsync(webhookEvent, cancellationToken);
    }

    public async Task<IResult> OpsgenieAsync(HttpContext http, CancellationToken cancellationToken)
    {
        const string endpoint = "opsgenie";
        var settings = options.Value.Opsgenie;
        if (!settings.IsWebhookConfigured)
        {
            return TypedResults.NotFound();
        }

        var client = Client(http);
        if (Blocked(http, endpoint, client) is { } blocked)
        {
            return blocked;
        }

        if (!OpsgenieWebhook.IsAuthorized(settings.WebhookToken!, http.Request.Headers))
        {
            failures.RecordFailure(client);
            return Refuse(endpoint, client, StatusCodes.Status401Unauthorized, "unauthenticated", "missing or wrong webhook token");
        }

        var body = await ReadBodyAsync(http.Request, MaxOpsgenieBodyBytes, cancellationToken);
        if (body is null)
        {
            return Refuse(endpoint, client, StatusCodes.Status413PayloadTooLarge, "too_large", $"body over {MaxOpsgenieBodyBytes} bytes");
        }

        var receivedAt = time.GetUtcNow();
        return Parse(endpoint, client, () => OpsgenieWebhook.Parse(body, receivedAt)) is { } webhookEvent
            ? await HandleOnceAsync(webhookEvent, cancellationToken)
            : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Not Opsgenie alert action data");
    }

    private async Task<IResult> HandleOnceAsync(PagerWebhookEvent webhookEvent, CancellationToken cancellationToken)
    {
        var receipt = InboundReceipt.Of(PagingTables.WebhookReceipts, webhookEvent.Pager, webhookEvent.EventId);
        if (!await receipts.TryRecordAsync(receipt, cancellationToken))
        {
            LogRepeated(logger, webhookEvent.Pager, webhookEvent.EventId);
            return TypedResults.Ok();
        }

        try
        {
            await handler.HandleAsync(webhookEvent, cancellationToken);
            return TypedResults.Ok();
        }
        catch (Exception ex)
        {
            // Not done: forget the receipt so the pager's retry is acted on, and ask for that retry.
            await receipts.ForgetAsync(receipt, CancellationToken.None);
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            LogFailed(logger, webhookEvent.Pager, webhookEvent.EventId, ex);
            return TypedResults.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    private StatusCodeHttpResult? Blocked(HttpContext http, string endpoint, string client)
    {
        if (!failures.IsBlocked(client))
        {
            return null;
        }

        http.Response.Headers.RetryAfter = FailureLimiter.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return Refuse(endpoint, client, StatusCodes.Status429TooManyRequests, "too_many_failures", "too many failed authentications");
    }

    private PagerWebhookEvent? Parse(string endpoint, string client, Func<PagerWebhookEvent> parse)
    {
        try
        {
            return parse();
        }
        catch (PagerPayloadException ex)
        {
            LogRejected(logger, endpoint, client, StatusCodes.Status400BadRequest, ex.Message);
            return null;
        }
    }

    /// <summary>The body, or null past <paramref name="maxBytes"/> (Kestrel enforces the same limit through the endpoint's metadata).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        try
        {
            return await BoundedBody.ReadAsync(request.Body, request.ContentLength, maxBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private StatusCodeHttpResult Refuse(string endpoint, string client, int status, string reason, string detail)
    {
        LogRejected(logger, endpoint, client, status, detail);
        IncidentBotTelemetry.InboundRefused.Add(1, new("endpoint", "paging." + endpoint), new("reason", reason));
        return TypedResults.StatusCode(status);
    }

    private static string Client(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a webhook to /paging/{Endpoint} from {Client} with {Status}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string endpoint, string client, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Pager} webhook event {EventId} was already received; this delivery is ignored")]
    private static partial void LogRepeated(ILogger logger, string pager, string eventId);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Pager} webhook event {EventId} could not be handled; answered 503 so it is retried")]
    private static partial void LogFailed(ILogger logger, string pager, string eventId, Exception exception);
}
