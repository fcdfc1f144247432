using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Security;
using IncidentBot.Core.Telemetry;
using IncidentBot.Slack.WebApi;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// The four Slack request URLs. A client that failed verification too often is turned away first (429); each
/// request is read up to 1 MB (413 past it) and verified on its raw bytes (401 otherwise), parsed (400 when
/// malformed), handled — which stores what was asked — and only then acknowledged. A request from a workspace that is
/// not allowed gets an empty 200 (so Slack does not retry) and does nothing.
/// </summary>
public sealed partial class SlackHttpReceiver(
    SlackRequestVerifier verifier,
    SlackDispatcher dispatcher,
    FailureLimiter failures,
    IOptions<SlackOptions> options,
    ILogger<SlackHttpReceiver> logger)
{
    public const int MaxBodyBytes = 1024 * 1024;
    private const string FormType = "application/x-www-form-urlencoded";
    private const string JsonType = "application/json";

    public Task<IResult> CommandsAsync(HttpContext context, CancellationToken cancellationToken) =>
        ReceiveAsync(context, "commands", FormType, async body =>
        {
            var form = ParseForm(body);
            var command = SlackDispatcher.ReadCommand(name => form.TryGetValue(name, out var value) ? value.ToString() : null);
            var reply = await dispatcher.CommandAsync(command, cancellationToken);
            return reply is null ? TypedResults.Ok() : Json(reply.ToJson());
        });

    public Task<IResult> InteractionsAsync(HttpContext context, CancellationToken cancellationToken) =>
        ReceiveAsync(context, "interactions", FormType, async body =>
        {
            using var payload = ParsePayload(body);
            var answer = await dispatcher.InteractionAsync(payload.RootElement, cancellationToken);
            return answer is null ? TypedResults.Ok() : Json(answer);
        });

    public Task<IResult> OptionsAsync(HttpContext context, CancellationToken cancellationToken) =>
        ReceiveAsync(context, "options", FormType, async body =>
        {
            using var payload = ParsePayload(body);
            var answer = await dispatcher.InteractionAsync(payload.RootElement, cancellationToken);
            return Json(answer ?? new JsonObject { ["options"] = new JsonArray() });
        });

    public Task<IResult> EventsAsync(HttpContext context, CancellationToken cancellationToken) =>
        ReceiveAsync(context, "events", JsonType, async body =>
        {
            using var document = ParseJson(body);
            var root = document.RootElement;
            switch (Str(root, "type"))
            {
                case "url_verification":
                    return Str(root, "challenge") is { } challenge
                        ? Json(new JsonObject { ["challenge"] = challenge })
                        : throw new SlackPayloadException("url_verification without a challenge.");
                case "event_callback":
                    var retry = int.TryParse(context.Request.Headers["X-Slack-Retry-Num"], out var n) ? n : 0;
                    await dispatcher.EventCallbackAsync(root, retry, cancellationToken);
                    return TypedResults.Ok();
                case "app_rate_limited":
                    LogRateLimited(logger);
                    return TypedResults.Ok();
                case null:
                    throw new SlackPayloadException("The event has no type.");
                default:
                    return TypedResults.Ok();
            }
        });

    private async Task<IResult> ReceiveAsync(HttpContext context, string endpoint, string mediaType, Func<byte[], Task<IResult>> handle)
    {
        if (!options.Value.HttpEnabled)
        {
            return TypedResults.NotFound();
        }

        var request = context.Request;
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (failures.IsBlocked(client))
        {
            context.Response.Headers.RetryAfter = FailureLimiter.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            Refused(endpoint, client, "too_many_failures", "too many failed signatures");
            return TypedResults.StatusCode(StatusCodes.Status429TooManyRequests);
        }

        var body = await ReadBodyAsync(request, context.RequestAborted);
        if (body is null)
        {
            Refused(endpoint, client, "too_large", $"body over {MaxBodyBytes} bytes");
            return TypedResults.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        if (endpoint == "commands" && IsSslCheck(request, body))
        {
            // Slack's certificate probe: answered without acting on anything, as it may arrive unsigned.
            return TypedResults.Ok();
        }

        var check = verifier.Verify(
            Single(request.Headers[SlackRequestVerifier.TimestampHeader]),
            Single(request.Headers[SlackRequestVerifier.SignatureHeader]),
            body);
        if (check != SignatureCheck.Valid)
        {
            // Only failures count: Slack's own requests are signed, so they are never throttled.
            failures.RecordFailure(client);
            Refused(endpoint, client, "unauthenticated", $"signature {check}");
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Invalid Slack signature");
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) ||
            !string.Equals(contentType.MediaType, mediaType, StringComparison.OrdinalIgnoreCase))
        {
            LogRejected(logger, endpoint, client, $"content type {request.ContentType ?? "(none)"}");
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Expected {mediaType}");
        }

        try
        {
            return await handle(body);
        }
        catch (SlackPayloadException ex)
        {
            LogRejected(logger, endpoint, client, ex.Message);
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed Slack payload", detail: ex.Message);
        }
        catch (SlackRefusedException ex) when (ex.Refusal == SlackRefusal.ForeignWorkspace)
        {
            Refused(endpoint, client, "workspace", ex.Message);
            return TypedResults.Ok();
        }
        catch (SlackRefusedException ex)
        {
            Refused(endpoint, client, "workspace_unverified", ex.Message);
            return TypedResults.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>The body, or null past <see cref="MaxBodyBytes"/> (Kestrel enforces the same limit through the endpoints' metadata).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        try
        {
            return await BoundedBody.ReadAsync(request.Body, request.ContentLength, MaxBodyBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
    }

    private void Refused(string endpoint, string client, string reason, string detail)
    {
        LogRejected(logger, endpoint, client, detail);
        IncidentBotTelemetry.InboundRefused.Add(1, new("endpoint", "slack." + endpoint), new("reason", reason));
    }

    private static bool IsSslCheck(HttpRequest request, byte[] body) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type) &&
        string.Equals(type.MediaType, FormType, StringComparison.OrdinalIgnoreCase) &&
        body.Length < 512 &&
        QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)).TryGetValue("ssl_check", out var check) && check == "1";

    // Slack sends each header once; a repeated one is not a request we signed off on.
    private static string? Single(StringValues values) => values.Count == 1 ? values[0] : null;

    private static Dictionary<string, StringValues> ParseForm(byte[] body)
    {
        try
        {
            return QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            throw new SlackPayloadException("The form body could not be read.");
        }
    }

    private static JsonDocument ParsePayload(byte[] body)
    {
        var form = ParseForm(body);
        if (!form.TryGetValue("payload", out var payload) || payload.Count != 1 || string.IsNullOrEmpty(payload[0]))
        {
            throw new SlackPayloadException("The form has no payload field.");
        }

        var document = ParseJson(Encoding.UTF8.GetBytes(payload[0]!));
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new SlackPayloadException("The payload is not a JSON object.");
        }

        return document;
    }

    private static JsonDocument ParseJson(byte[] body)
    {
        try
        {
            var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            throw new SlackPayloadException("The body is not a JSON object.");
        }
        catch (JsonException)
        {
            throw new SlackPayloadException("The body is not valid JSON.");
        }
    }

    private static ContentHttpResult Json(JsonObject body) => TypedResults.Text(body.ToJsonString(), "application/json", Encoding.UTF8);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a Slack request to /slack/{Endpoint} from {Client}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string endpoint, string client, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack reports app_rate_limited: events are being dropped for this workspace")]
    private static partial void LogRateLimited(ILogger logger);
}
