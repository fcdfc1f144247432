using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.TestKit.Teams;

/// <summary>One call the bot made to Graph (token requests excluded), as received.</summary>
public sealed record GraphCall(string Method, string Path, string? TeamId, JsonNode? Body, string? Authorization, int Status, DateTimeOffset ReceivedAt)
{
    public string? DisplayName => Body?["displayName"]?.GetValue<string>();
}

/// <summary>A channel the fake holds.</summary>
public sealed record GraphChannel(string TeamId, string Id, string DisplayName, string MembershipType)
{
    public bool Archived { get; set; }
}

/// <summary>
/// Microsoft Graph's Teams channel API and Entra's tenant-specific client-credentials token endpoint, on loopback:
/// <c>POST /{tenant}/oauth2/v2.0/token</c> (checks client id, secret and the Graph <c>.default</c> scope),
/// <c>POST /v1.0/teams/{id}/channels</c> with Graph's naming rules (400 <c>BadRequest</c>) and
/// <c>NameAlreadyExists</c> (409) per team, <c>POST …/channels/{id}/archive</c> (202), scripted failures
/// (429 with <c>Retry-After</c>, 503, 403), and a record of every call.
/// </summary>
public sealed class FakeGraph : IAsyncDisposable
{
    public const string Scope = "https://graph.microsoft.com/.default";
    public const string IssuedTokenPrefix = "fake-graph-access-";
    public const string Tenant = "tenant-under-test";

    /// <summary>Characters Graph refuses in a channel's display name.</summary>
    public const string ForbiddenCharacters = "~#%&*{}+/\\:<>?|'\"";

    private static readonly System.Buffers.SearchValues<char> Forbidden = System.Buffers.SearchValues.Create(ForbiddenCharacters);
    private readonly ConcurrentQueue<GraphCall> _calls = new();
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, string>> _tokenRequests = new();
    private readonly List<(int Status, TimeSpan? RetryAfter, string? Code)> _failures = [];
    private readonly ConcurrentDictionary<string, GraphChannel> _channels = new(StringComparer.Ordinal);
    private readonly HashSet<string> _teams = new(StringComparer.OrdinalIgnoreCase);
    private WebApplication? _app;
    private int _issued;
    private int _nextChannel;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>What <c>Teams:GraphBaseUrl</c> points at.</summary>
    public string GraphBaseUrl => new Uri(BaseAddress, "v1.0/").ToString();

    /// <summary>What <c>Teams:GraphTokenEndpoint</c> points at.</summary>
    public string TokenEndpoint => new Uri(BaseAddress, $"{Tenant}/oauth2/v2.0/token").ToString();

    public string ClientId { get; init; } = "00000000-0000-0000-0000-00000000b07";

    public string ClientSecret { get; init; } = "fake-secret";

    public IReadOnlyList<GraphCall> Calls => _calls.ToList();

    public IReadOnlyList<IReadOnlyDictionary<string, string>> TokenRequests => _tokenRequests.ToList();

    public IReadOnlyList<GraphChannel> Channels => _channels.Values.OrderBy(c => c.Id, StringComparer.Ordinal).ToList();

    public static bool Issued(string? token) => token is not null && token.StartsWith(IssuedTokenPrefix, StringComparison.Ordinal);

    public static async Task<FakeGraph> StartAsync(params string[] teamIds)
    {
        var graph = new FakeGraph();
        foreach (var team in teamIds)
        {
            graph._teams.Add(team);
        }

        await graph.RunAsync();
        return graph;
    }

    /// <summary>A channel already in <paramref name="teamId"/> (made by a person, or an earlier incident).</summary>
    public GraphChannel AddChannel(string teamId, string displayName)
    {
        var channel = new GraphChannel(teamId, NewChannelId(), displayName, "standard");
        _channels[channel.Id] = channel;
        return channel;
    }

    /// <summary>The next <paramref name="count"/> Graph calls answer <paramref name="status"/> (with <c>Retry-After</c> seconds when given).</summary>
    public void FailNext(int count, int status = 429, TimeSpan? retryAfter = null, string? code = null)
    {
        lock (_failures)
        {
            for (var i = 0; i < count; i++)
            {
                _failures.Add((status, retryAfter, code));
            }
        }
    }

    public async Task<IReadOnlyList<GraphCall>> WaitForAsync(Func<IReadOnlyList<GraphCall>, bool> condition, TimeSpan? timeout = null, string? what = null)
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
                throw new TimeoutException($"Graph did not see {what ?? "the expected calls"}; it saw: "
                    + string.Join(" | ", calls.Select(c => $"{c.Method} {c.Path} {c.Status} {c.DisplayName}")));
            }

            await Task.Delay(50);
        }
    }

    private string NewChannelId() =>
        $"19:{Interlocked.Increment(ref _nextChannel).ToString(CultureInfo.InvariantCulture)}fakechannel{Guid.NewGuid():N}@thread.tacv2";

    private async Task RunAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/{tenant}/oauth2/v2.0/token", async (HttpRequest request, string tenant) =>
        {
            var form = await request.ReadFormAsync();
            var fields = form.ToDictionary(f => f.Key, f => f.Value.ToString());
            _tokenRequests.Enqueue(fields);
            if (tenant != Tenant)
            {
                return Results.Json(new { error = "invalid_request", error_description = $"AADSTS90002: Tenant '{tenant}' not found." }, statusCode: 400);
            }

            if (fields.GetValueOrDefault("grant_type") != "client_credentials")
            {
                return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
            }

            if (fields.GetValueOrDefault("client_id") != ClientId || fields.GetValueOrDefault("client_secret") != ClientSecret)
            {
                return Results.Json(new { error = "invalid_client", error_description = "AADSTS7000215: Invalid client secret provided." }, statusCode: 401);
            }

            if (fields.GetValueOrDefault("scope") != Scope)
            {
                return Results.Json(new { error = "invalid_scope" }, statusCode: 400);
            }

            var token = IssuedTokenPrefix + Interlocked.Increment(ref _issued).ToString(CultureInfo.InvariantCulture);
            return Results.Json(new { token_type = "Bearer", expires_in = 3599, ext_expires_in = 3599, access_token = token });
        });
        _app.MapPost("/v1.0/teams/{teamId}/channels", (HttpContext http, string teamId) => HandleAsync(http, teamId, null, CreateChannel));
        _app.MapPost("/v1.0/teams/{teamId}/channels/{channelId}/archive", (HttpContext http, string teamId, string channelId) => HandleAsync(http, teamId, channelId, Archive));
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    private async Task<IResult> HandleAsync(HttpContext http, string teamId, string? channelId, Func<string, string?, JsonNode?, IResult> handle)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        JsonNode? body = null;
        if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                body = await JsonNode.ParseAsync(http.Request.Body);
            }
            catch (System.Text.Json.JsonException)
            {
                return Record(http, teamId, null, authorization, Error(400, "BadRequest", "Invalid request body."));
            }
        }

        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !Issued(authorization[7..]))
        {
            return Record(http, teamId, body, authorization, Error(401, "InvalidAuthenticationToken", "Access token is empty."));
        }

        (int Status, TimeSpan? RetryAfter, string? Code)? failure = null;
        lock (_failures)
        {
            if (_failures.Count > 0)
            {
                failure = _failures[0];
                _failures.RemoveAt(0);
            }
        }

        if (failure is { } f)
        {
            if (f.RetryAfter is { } wait)
            {
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            var code = f.Code ?? f.Status switch { 429 => "TooManyRequests", 403 => "Forbidden", 503 => "ServiceNotAvailable", _ => "InternalServerError" };
            return Record(http, teamId, body, authorization, Error(f.Status, code, "Scripted failure."));
        }

        if (_teams.Count > 0 && !_teams.Contains(teamId))
        {
            return Record(http, teamId, body, authorization, Error(404, "NotFound", $"No team found with Group Id {teamId}"));
        }

        return Record(http, teamId, body, authorization, handle(teamId, channelId, body));
    }

    private (int Status, JsonObject? Body) CreateChannelCore(string teamId, JsonNode? body)
    {
        var name = body?["displayName"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(name))
        {
            return Error(400, "BadRequest", "displayName is required.");
        }

        if (name.Length > 50)
        {
            return Error(400, "BadRequest", "Channel name cannot be longer than 50 characters.");
        }

        if (name.AsSpan().ContainsAny(Forbidden) || name.StartsWith('_') || name.StartsWith('.') || name.EndsWith('.'))
        {
            return Error(400, "BadRequest", "Channel name contains invalid characters or starts with an underscore or period, or ends with a period.");
        }

        var membership = body?["membershipType"]?.GetValue<string>() ?? "standard";
        lock (_channels)
        {
            if (_channels.Values.Any(c => c.TeamId == teamId && string.Equals(c.DisplayName, name, StringComparison.OrdinalIgnoreCase)))
            {
                return Error(409, "NameAlreadyExists", "Channel name already existed, please use other name.");
            }

            var channel = new GraphChannel(teamId, NewChannelId(), name, membership);
            _channels[channel.Id] = channel;
            return (201, new JsonObject
            {
                ["@odata.context"] = $"https://graph.microsoft.com/v1.0/$metadata#teams('{teamId}')/channels/$entity",
                ["id"] = channel.Id,
                ["createdDateTime"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                ["displayName"] = channel.DisplayName,
                ["description"] = body?["description"]?.GetValue<string>(),
                ["membershipType"] = membership,
                ["isArchived"] = false,
                ["webUrl"] = $"https://teams.microsoft.com/l/channel/{Uri.EscapeDataString(channel.Id)}/{Uri.EscapeDataString(name)}?groupId={teamId}",
            });
        }
    }

    private IResult CreateChannel(string teamId, string? channelId, JsonNode? body)
    {
        var (status, json) = CreateChannelCore(teamId, body);
        return Results.Text(json?.ToJsonString() ?? "", "application/json", statusCode: status);
    }

    private IResult Archive(string teamId, string? channelId, JsonNode? body)
    {
        if (channelId is null || !_channels.TryGetValue(channelId, out var channel) || channel.TeamId != teamId)
        {
            var (status, json) = Error(404, "NotFound", "Channel not found.");
            return Results.Text(json!.ToJsonString(), "application/json", statusCode: status);
        }

        channel.Archived = true;
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    private static (int Status, JsonObject? Body) Error(int status, string code, string message) =>
        (status, new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = code,
                ["message"] = message,
                ["innerError"] = new JsonObject { ["date"] = DateTimeOffset.UtcNow.ToString("s", CultureInfo.InvariantCulture), ["request-id"] = Guid.NewGuid().ToString() },
            },
        });

    private IResult Record(HttpContext http, string teamId, JsonNode? body, string authorization, (int Status, JsonObject? Body) error) =>
        Record(http, teamId, body, authorization, Results.Text(error.Body?.ToJsonString() ?? "", "application/json", statusCode: error.Status), error.Status);

    private IResult Record(HttpContext http, string teamId, JsonNode? body, string authorization, IResult result)
    {
        var status = result is IStatusCodeHttpResult { StatusCode: { } code } ? code : 200;
        return Record(http, teamId, body, authorization, result, status);
    }

    private IResult Record(HttpContext http, string teamId, JsonNode? body, string authorization, IResult result, int status)
    {
        _calls.Enqueue(new GraphCall(http.Request.Method, http.Request.Path.Value ?? "", teamId, body, string.IsNullOrEmpty(authorization) ? null : authorization, status, DateTimeOffset.UtcNow));
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
