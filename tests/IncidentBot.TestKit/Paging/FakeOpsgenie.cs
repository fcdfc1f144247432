using System.Text.Json;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Paging;

/// <summary>
/// Opsgenie Alert API v2: <c>POST /v2/alerts</c> and <c>POST /v2/alerts/{alias}/acknowledge|close?identifierType=alias</c>,
/// authenticated by <c>Authorization: GenieKey</c>. Answers 202 <c>{result, took, requestId}</c> (the request is only queued),
/// 401 without the key, 422 for an invalid alert. Keeps alerts by alias as Opsgenie does (<see cref="Book"/>): a create
/// with the alias of an open alert is deduplicated and notifies nobody. With <paramref name="basePath"/>
/// <c>/jsm/ops/integration</c> it is Jira Service Management's integration API, which takes the same requests there.
/// </summary>
public sealed partial class FakeOpsgenie(string basePath = "") : FakeHttpServer
{
    public const string ApiKey = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    /// <summary>Where Jira Service Management Operations serves the Opsgenie-compatible alert API (under https://api.atlassian.com).</summary>
    public const string JsmBasePath = "/jsm/ops/integration";

    /// <summary>The base URL a client configures (<c>Paging:Opsgenie:ApiUrl</c>).</summary>
    public Uri ApiUrl => new(BaseAddress, basePath.TrimStart('/'));

    /// <summary>The alerts and who was notified.</summary>
    public FakeAlertBook Book { get; } = new();

    /// <summary>Alerts opened (people notified), by alias, in order.</summary>
    public IReadOnlyList<string> NotifiedKeys => Book.Notifications.Select(n => n.Key).ToList();

    protected override Task<(int Status, string Body)> AnswerAsync(RecordedRequest request)
    {
        if (!request.Headers.TryGetValue("authorization", out var auth) || auth != $"GenieKey {ApiKey}")
        {
            return Task.FromResult((401, """{"message":"Could not authenticate","took":0.0,"requestId":"00000000-0000-0000-0000-000000000000"}"""));
        }

        if (request.Method != "POST" || !request.Path.StartsWith(basePath + "/v2/alerts", StringComparison.Ordinal))
        {
            return Task.FromResult((404, """{"message":"Not found"}"""));
        }

        var path = request.Path[basePath.Length..];

        JsonObject? body;
        try
        {
            body = JsonNode.Parse(request.Body) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }

        if (path == "/v2/alerts")
        {
            if ((string?)body?["message"] is not { Length: > 0 and <= 130 } || (string?)body?["alias"] is { Length: > 512 })
            {
                return Task.FromResult((422, """{"message":"Request body is not processable. Please check the errors.","errors":{"message":"Message can not be empty or longer than 130 characters."},"took":0.0}"""));
            }

            if (Responders(body!["responders"]) is not { } responders)
            {
                return Task.FromResult((422, """{"message":"Request body is not processable. Please check the errors.","errors":{"responders":"Responder type must be team, user, escalation or schedule, with an id, name or username."},"took":0.0}"""));
            }

            Book.Trigger(Account, (string?)body["alias"] ?? Guid.NewGuid().ToString(), responders.Count == 0 ? ["default"] : responders, (string)body["message"]!);
        }
        else if (!request.Query.Contains("identifierType=alias", StringComparison.Ordinal)
            || !(path.EndsWith("/acknowledge", StringComparison.Ordinal) || path.EndsWith("/close", StringComparison.Ordinal)))
        {
            return Task.FromResult((404, """{"message":"Not found"}"""));
        }
        else
        {
            var alias = Uri.UnescapeDataString(path["/v2/alerts/".Length..path.LastIndexOf('/')]);
            Book.Change(Account, alias, path.EndsWith("/acknowledge", StringComparison.Ordinal) ? FakeAlertStatus.Acknowledged : FakeAlertStatus.Resolved);
        }

        var accepted = new JsonObject { ["result"] = "Request will be processed", ["took"] = 0.011, ["requestId"] = Guid.NewGuid().ToString() };
        return Task.FromResult((202, accepted.ToJsonString()));
    }

    private const string Account = "account";

    /// <summary>
    /// <c>responders[]{type, id|name|username}</c> as "type:who"; null when one is malformed. A user is named by id or
    /// username (an email), the others by id or name.
    /// </summary>
    private static List<string>? Responders(JsonNode? node)
    {
        var responders = new List<string>();
        foreach (var responder in node as JsonArray ?? [])
        {
            var type = (string?)responder?["type"];
            var who = (string?)responder?["id"] ?? (type == "user" ? (string?)responder?["username"] : (string?)responder?["name"]);
            if (type is not ("team" or "user" or "escalation" or "schedule") || string.IsNullOrWhiteSpace(who))
            {
                return null;
            }

            responders.Add($"{type}:{who}");
        }

        return responders;
    }
}
