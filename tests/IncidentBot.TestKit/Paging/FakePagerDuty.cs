using System.Text.Json;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Paging;

/// <summary>
/// PagerDuty Events API v2 (<c>POST /v2/enqueue</c>): validates events as PagerDuty documents them and answers
/// 202 <c>{status, message, dedup_key}</c>, or 400 <c>{status, message, errors}</c> for an invalid event. Keeps alerts by
/// routing key and dedup key as PagerDuty does (<see cref="Book"/>): a trigger into an open alert notifies nobody.
/// </summary>
public sealed partial class FakePagerDuty : FakeHttpServer
{
    public const string RoutingKey = "R0123456789abcdef0123456789abcde";

    private static readonly string[] Actions = ["trigger", "acknowledge", "resolve"];
    private static readonly string[] Severities = ["critical", "error", "warning", "info"];

    public Uri EventsUrl => new(BaseAddress, "v2/enqueue");

    /// <summary>The alerts and who was notified.</summary>
    public FakeAlertBook Book { get; } = new();

    /// <summary>Alerts opened (people notified), by dedup key, in order.</summary>
    public IReadOnlyList<string> NotifiedKeys => Book.Notifications.Select(n => n.Key).ToList();

    /// <summary>Accepted events, parsed.</summary>
    public IReadOnlyList<JsonObject> Events => Requests
        .Where(r => r.Path == "/v2/enqueue")
        .Select(r => JsonNode.Parse(r.Body)!.AsObject())
        .ToList();

    protected override Task<(int Status, string Body)> AnswerAsync(RecordedRequest request)
    {
        if (request.Method != "POST" || request.Path != "/v2/enqueue")
        {
            return Task.FromResult((404, """{"status":"not found"}"""));
        }

        var errors = new List<string>();
        JsonObject? body = null;
        try
        {
            body = JsonNode.Parse(request.Body) as JsonObject;
        }
        catch (JsonException)
        {
        }

        if (body is null)
        {
            return Task.FromResult((400, """{"status":"invalid event","message":"Event object is invalid","errors":["Malformed JSON"]}"""));
        }

        var action = (string?)body["event_action"];
        if ((string?)body["routing_key"] is not { Length: 32 })
        {
            errors.Add("'routing_key' is invalid");
        }

        if (action is null || !Actions.Contains(action))
        {
            errors.Add("'event_action' is invalid");
        }

        var dedupKey = (string?)body["dedup_key"];
        if (dedupKey is { Length: > 255 })
        {
            errors.Add("'dedup_key' is too long");
        }

        if (action == "trigger")
        {
            var payload = body["payload"] as JsonObject;
            if ((string?)payload?["summary"] is not { Length: > 0 and <= 1024 })
            {
                errors.Add("'payload.summary' is missing or too long");
            }

            if ((string?)payload?["source"] is not { Length: > 0 })
            {
                errors.Add("'payload.source' is missing");
            }

            if ((string?)payload?["severity"] is not { } severity || !Severities.Contains(severity))
            {
                errors.Add("'payload.severity' is invalid");
            }
        }
        else if (dedupKey is null)
        {
            errors.Add("'dedup_key' is required for acknowledge and resolve");
        }

        if (errors.Count > 0)
        {
            var invalid = new JsonObject { ["status"] = "invalid event", ["message"] = "Event object is invalid", ["errors"] = new JsonArray(errors.Select(e => (JsonNode)e!).ToArray()) };
            return Task.FromResult((400, invalid.ToJsonString()));
        }

        dedupKey ??= Guid.NewGuid().ToString("N");
        var routingKey = (string)body["routing_key"]!;
        _ = action switch
        {
            "trigger" => Book.Trigger(routingKey, dedupKey, ["default"], (string?)body["payload"]?["summary"] ?? ""),
            "acknowledge" => Book.Change(routingKey, dedupKey, FakeAlertStatus.Acknowledged),
            _ => Book.Change(routingKey, dedupKey, FakeAlertStatus.Resolved),
        };
        var accepted = new JsonObject { ["status"] = "success", ["message"] = "Event processed", ["dedup_key"] = dedupKey };
        return Task.FromResult((202, accepted.ToJsonString()));
    }
}
