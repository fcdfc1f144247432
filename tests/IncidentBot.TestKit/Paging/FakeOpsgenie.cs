using System.Text.Json;
using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Paging;

/// <summary>
/// Opsgenie Alert API v2: <c>POST /v2/alerts</c> and <c>POST /v2/alerts/{alias}/acknowledge|close?identifierType=alias</c>,
/// authenticated by <c>Authorization: GenieKey</c>. Answers 202 <c>{result, took, requestId}</c> (the request is only queued),
/// 401 without the key, 422 for an invalid alert.
/// </summary>
public sealed partial class FakeOpsgenie : FakeHttpServer
{
    public const string ApiKey = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    protected override Task<(int Status, string Body)> AnswerAsync(RecordedRequest request)
    {
        if (!request.Headers.TryGetValue("authorization", out var auth) || auth != $"GenieKey {ApiKey}")
        {
            return Task.FromResult((401, """{"message":"Could not authenticate","took":0.0,"requestId":"00000000-0000-0000-0000-000000000000"}"""));
        }

        if (request.Method != "POST" || !request.Path.StartsWith("/v2/alerts", StringComparison.Ordinal))
        {
            return Task.FromResult((404, """{"message":"Not found"}"""));
        }

        JsonObject? body;
        try
        {
            body = JsonNode.Parse(request.Body) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }

        if (request.Path == "/v2/alerts")
        {
            if ((string?)body?["message"] is not { Length: > 0 and <= 130 } || (string?)body?["alias"] is { Length: > 512 })
            {
                return Task.FromResult((422, """{"message":"Request body is not processable. Please check the errors.","errors":{"message":"Message can not be empty or longer than 130 characters."},"took":0.0}"""));
            }
        }
        else if (!request.Query.Contains("identifierType=alias", StringComparison.Ordinal)
            || !(request.Path.EndsWith("/acknowledge", StringComparison.Ordinal) || request.Path.EndsWith("/close", StringComparison.Ordinal)))
        {
            return Task.FromResult((404, """{"message":"Not found"}"""));
        }

        var accepted = new JsonObject { ["result"] = "Request will be processed", ["took"] = 0.011, ["requestId"] = Guid.NewGuid().ToString() };
        return Task.FromResult((202, accepted.ToJsonString()));
    }
}
