using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.TestKit.Teams;

public enum ConnectorOperation
{
    Send,
    Reply,
    Update,
    Delete,
    CreateConversation,
    GetMember,
}

/// <summary>One call the bot made to the connector, as received.</summary>
public sealed record ConnectorCall(
    ConnectorOperation Operation,
    string? ConversationId,
    string? ActivityId,
    JsonNode? Body,
    string? Authorization,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The first attachment's content (an Adaptive Card), if any.</summary>
    public JsonObject? Card => Body?["attachments"]?[0]?["content"] as JsonObject
        ?? Body?["activity"]?["attachments"]?[0]?["content"] as JsonObject;

    public string? Text => Body?["text"]?.GetValue<string>();
}

/// <summary>
/// The Bot Connector REST API (v3) on loopback, as a conversation's <c>serviceUrl</c>: records every call,
/// answers with ids like Teams does, checks the bearer token, and can be told to throttle (429 with
/// <c>Retry-After</c>) or fail the next calls.
/// </summary>
public sealed class FakeBotConnector : IAsyncDisposable
{
    private readonly ConcurrentQueue<ConnectorCall> _calls = new();
    private readonly List<(int Status, TimeSpan? RetryAfter, ConnectorOperation? Only)> _failures = [];
    private readonly ConcurrentDictionary<string, JsonObject> _members = new(StringComparer.OrdinalIgnoreCase);
    private WebApplication? _app;
    private int _nextId = 1000;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The serviceUrl activities carry (with the trailing slash Teams uses).</summary>
    public string ServiceUrl => BaseAddress.ToString();

    /// <summary>When set, a call must carry <c>Bearer</c> with a token this accepts, else 401.</summary>
    public Func<string?, bool>? AcceptToken { get; set; }

    public IReadOnlyList<ConnectorCall> Calls => _calls.ToList();

    public IReadOnlyList<ConnectorCall> CallsTo(string conversationId) =>
        _calls.Where(c => c.ConversationId == conversationId).ToList();

    /// <summary>The next <paramref name="count"/> calls (of kind <paramref name="only"/>, or any) answer <paramref name="status"/>.</summary>
    public void FailNext(int count, int status = 429, TimeSpan? retryAfter = null, ConnectorOperation? only = null)
    {
        lock (_failures)
        {
            for (var i = 0; i < count; i++)
            {
                _failures.Add((status, retryAfter, only));
            }
        }
    }

    private (int Status, TimeSpan? RetryAfter)? TakeFailure(ConnectorOperation operation)
    {
        lock (_failures)
        {
            var index = _failures.FindIndex(f => f.Only is null || f.Only == operation);
            if (index < 0)
            {
                return null;
            }

            var failure = _failures[index];
            _failures.RemoveAt(index);
            return (failure.Status, failure.RetryAfter);
        }
    }

    /// <summary>A member that <c>GET members/{id}</c> finds by MRI or Entra object id.</summary>
    public void AddMember(string mri, string aadObjectId, string name)
    {
        var member = new JsonObject { ["id"] = mri, ["name"] = name, ["aadObjectId"] = aadObjectId, ["userPrincipalName"] = $"{name.ToLowerInvariant()}@contoso.test" };
        _members[mri] = member;
        _members[aadObjectId] = member;
    }

    public static async Task<FakeBotConnector> StartAsync()
    {
        var connector = new FakeBotConnector();
        await connector.RunAsync();
        return connector;
    }

    /// <summary>Waits until the recorded calls satisfy <paramref name="condition"/>; fails after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<ConnectorCall>> WaitForAsync(Func<IReadOnlyList<ConnectorCall>, bool> condition, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var calls = Calls;
            if (condition(calls))
            {
                return calls;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The connector did not see {what ?? "the expected calls"}; it saw: "
                    + string.Join(" | ", calls.Select(c => $"{c.Operation} {c.ConversationId} {c.Text ?? (c.Card is null ? "" : "[card]")}")));
            }

            await Task.Delay(50);
        }
    }

    private async Task RunAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/v3/conversations", (Delegate)((HttpContext http) => HandleAsync(http, ConnectorOperation.CreateConversation, null, null)));
        _app.MapPost("/v3/conversations/{conversationId}/activities", (HttpContext http, string conversationId) =>
            HandleAsync(http, ConnectorOperation.Send, conversationId, null));
        _app.MapPost("/v3/conversations/{conversationId}/activities/{activityId}", (HttpContext http, string conversationId, string activityId) =>
            HandleAsync(http, ConnectorOperation.Reply, conversationId, activityId));
        _app.MapPut("/v3/conversations/{conversationId}/activities/{activityId}", (HttpContext http, string conversationId, string activityId) =>
            HandleAsync(http, ConnectorOperation.Update, conversationId, activityId));
        _app.MapDelete("/v3/conversations/{conversationId}/activities/{activityId}", (HttpContext http, string conversationId, string activityId) =>
            HandleAsync(http, ConnectorOperation.Delete, conversationId, activityId));
        _app.MapGet("/v3/conversations/{conversationId}/members/{userId}", (HttpContext http, string conversationId, string userId) =>
            HandleAsync(http, ConnectorOperation.GetMember, conversationId, userId));
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    private async Task<IResult> HandleAsync(HttpContext http, ConnectorOperation operation, string? conversationId, string? activityId)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        JsonNode? body = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            body = await JsonNode.ParseAsync(http.Request.Body);
        }

        _calls.Enqueue(new ConnectorCall(operation, conversationId, activityId, body, string.IsNullOrEmpty(authorization) ? null : authorization, DateTimeOffset.UtcNow));
        if (AcceptToken is { } accept)
        {
            var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization[7..] : null;
            if (!accept(token))
            {
                return Results.Json(new { error = new { code = "Unauthorized", message = "Authorization has been denied for this request." } }, statusCode: 401);
            }
        }

        if (TakeFailure(operation) is { } failure)
        {
            if (failure.RetryAfter is { } wait)
            {
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Results.Json(new { error = new { code = failure.Status == 429 ? "Throttled" : "ServiceError", message = "Scripted failure" } }, statusCode: failure.Status);
        }

        var id = Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (operation)
        {
            case ConnectorOperation.CreateConversation:
                var channel = body?["channelData"]?["channel"]?["id"]?.GetValue<string>();
                if (body?["isGroup"]?.GetValue<bool>() == true && channel is not null)
                {
                    return Results.Json(new { id = $"{channel};messageid={id}", activityId = id }, statusCode: 201);
                }

                return Results.Json(new { id = $"a:{id}" }, statusCode: 201);
            case ConnectorOperation.GetMember:
                return _members.TryGetValue(activityId!, out var member)
                    ? Results.Text(member.ToJsonString(), "application/json")
                    : Results.Json(new { error = new { code = "MemberNotFoundInConversation", message = "The user is not a member." } }, statusCode: 404);
            case ConnectorOperation.Update:
                return Results.Json(new { id = activityId });
            case ConnectorOperation.Delete:
                return Results.Ok();
            default:
                return Results.Json(new { id });
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
