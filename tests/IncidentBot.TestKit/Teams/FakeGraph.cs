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

    public string? Description { get; init; }
}

/// <summary>A chat the fake made (<c>POST /chats</c>): its members' Entra ids and the catalog ids of the apps installed into it.</summary>
public sealed record GraphChat(string Id, string ChatType, string? Topic, IReadOnlyList<string> MemberIds, DateTimeOffset CreatedAt)
{
    public ConcurrentQueue<string> InstalledApps { get; } = new();
}

/// <summary>An online meeting the fake made (<c>createOrGet</c>), with the transcripts it serves once they are ready.</summary>
public sealed record GraphMeeting(string OrganizerId, string Id, string ExternalId, string Subject, string JoinUrl, string ThreadId)
{
    public ConcurrentQueue<(string Id, string Vtt)> Transcripts { get; } = new();
}

/// <summary>
/// Microsoft Graph's Teams channel API and Entra's tenant-specific client-credentials token endpoint, on loopback:
/// <c>POST /{tenant}/oauth2/v2.0/token</c> (checks client id, secret and the Graph <c>.default</c> scope),
/// <c>POST /v1.0/teams/{id}/channels</c> with Graph's naming rules (400 <c>BadRequest</c>) and
/// <c>NameAlreadyExists</c> (409) per team, <c>POST …/channels/{id}/archive</c> (202), scripted failures
/// (429 with <c>Retry-After</c>, 503, 403), <c>POST /v1.0/chats</c> (201 with the chat; 400 for a malformed member or a
/// group of fewer than two) and <c>POST /v1.0/chats/{id}/installedApps</c> (201; 404 for an unknown chat or catalog app,
/// 409 when installed already, 403 when the app's resource-specific permissions are not consented), and a record of every call.
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
    private readonly ConcurrentDictionary<string, GraphMeeting> _meetings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GraphChat> _chats = new(StringComparer.Ordinal);
    private int _loseCreateAnswers;
    private int _nextMeeting;
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

    public IReadOnlyList<GraphChat> Chats => _chats.Values.OrderBy(c => c.CreatedAt).ToList();

    /// <summary>The app's id in the tenant's app catalog; installing another id answers 404.</summary>
    public string CatalogAppId { get; init; } = "5f0c6e1a-0000-4000-8000-0000000ca7a1";

    /// <summary>The app definition's resource-specific permissions (name, type), which an install must consent to exactly.</summary>
    public IReadOnlyList<(string Name, string Type)> AppResourceSpecificPermissions { get; set; } = [];

    public IReadOnlyList<GraphMeeting> Meetings => _meetings.Values.OrderBy(m => m.Id, StringComparer.Ordinal).ToList();

    /// <summary>
    /// The next channel or meeting creation succeeds at Graph but its answer is lost (503), as when the bot crashes or times out
    /// between Graph making the channel and the bot recording it.
    /// </summary>
    public void LoseNextCreateAnswer() => Interlocked.Increment(ref _loseCreateAnswers);

    /// <summary>Makes a transcript of the meeting <paramref name="meetingId"/> ready: listed, and its content served as WebVTT.</summary>
    public void AddTranscript(string meetingId, string vtt)
    {
        var meeting = _meetings[meetingId];
        meeting.Transcripts.Enqueue(($"transcript-{meeting.Transcripts.Count + 1}-{Guid.NewGuid():N}", vtt));
    }

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
        _app.MapGet("/v1.0/teams/{teamId}/channels", (HttpContext http, string teamId) => HandleAsync(http, teamId, null, (_, _, _) => ListChannels(teamId, http.Request.Query["$filter"].ToString())));
        _app.MapPost("/v1.0/users/{userId}/onlineMeetings/createOrGet", (HttpContext http, string userId) => HandleAsync(http, userId, null, CreateOrGetMeeting));
        _app.MapGet("/v1.0/users/{userId}/onlineMeetings/{meetingId}/transcripts", (HttpContext http, string userId, string meetingId) =>
            HandleAsync(http, userId, meetingId, ListTranscripts));
        _app.MapGet("/v1.0/users/{userId}/onlineMeetings/{meetingId}/transcripts/{transcriptId}/content", (HttpContext http, string userId, string meetingId, string transcriptId) =>
            HandleAsync(http, userId, meetingId, (_, _, _) => TranscriptContent(userId, meetingId, transcriptId, http.Request.Query["$format"].ToString())));
        _app.MapPost("/v1.0/chats", (Delegate)((HttpContext http) => HandleAsync(http, "", null, CreateChat)));
        _app.MapPost("/v1.0/chats/{chatId}/installedApps", (HttpContext http, string chatId) => HandleAsync(http, "", chatId, InstallApp));
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

        if (_teams.Count > 0 && !_teams.Contains(teamId) && http.Request.Path.StartsWithSegments("/v1.0/teams", StringComparison.Ordinal))
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

            var channel = new GraphChannel(teamId, NewChannelId(), name, membership) { Description = body?["description"]?.GetValue<string>() };
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
        if (status == 201 && LoseThisAnswer())
        {
            (status, json) = Error(503, "ServiceNotAvailable", "Scripted: the channel was made but the answer was lost.");
        }

        return Results.Text(json?.ToJsonString() ?? "", "application/json", statusCode: status);
    }

    private IResult ListChannels(string teamId, string filter)
    {
        // Supports the one filter the bot uses: displayName eq '…'.
        const string prefix = "displayName eq '";
        var name = filter.StartsWith(prefix, StringComparison.Ordinal) && filter.EndsWith('\'')
            ? filter[prefix.Length..^1].Replace("''", "'", StringComparison.Ordinal)
            : null;
        var channels = _channels.Values.Where(c => c.TeamId == teamId && (name is null || string.Equals(c.DisplayName, name, StringComparison.OrdinalIgnoreCase)))
            .Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["displayName"] = c.DisplayName, ["description"] = c.Description, ["membershipType"] = c.MembershipType })
            .ToArray();
        return Results.Text(new JsonObject { ["value"] = new JsonArray(channels) }.ToJsonString(), "application/json");
    }

    private IResult CreateOrGetMeeting(string userId, string? unused, JsonNode? body)
    {
        var externalId = body?["externalId"]?.GetValue<string>();
        if (string.IsNullOrWhiteSpace(externalId))
        {
            return Json(Error(400, "BadRequest", "externalId is required."));
        }

        var meeting = _meetings.Values.FirstOrDefault(m => m.OrganizerId == userId && m.ExternalId == externalId);
        var status = 200;
        if (meeting is null)
        {
            var n = Interlocked.Increment(ref _nextMeeting).ToString(CultureInfo.InvariantCulture);
            meeting = new GraphMeeting(userId, $"MSo{n}fakemeeting{Guid.NewGuid():N}", externalId, body?["subject"]?.GetValue<string>() ?? "",
                $"https://teams.microsoft.com/l/meetup-join/19%3ameeting_fake{n}%40thread.v2/0", $"19:meeting_fake{n}@thread.v2");
            _meetings[meeting.Id] = meeting;
            status = 201;
            if (LoseThisAnswer())
            {
                return Json(Error(503, "ServiceNotAvailable", "Scripted: the meeting was made but the answer was lost."));
            }
        }

        return Json((status, new JsonObject
        {
            ["id"] = meeting.Id,
            ["externalId"] = meeting.ExternalId,
            ["subject"] = meeting.Subject,
            ["joinWebUrl"] = meeting.JoinUrl,
            ["startDateTime"] = body?["startDateTime"]?.GetValue<string>(),
            ["endDateTime"] = body?["endDateTime"]?.GetValue<string>(),
            ["chatInfo"] = new JsonObject { ["threadId"] = meeting.ThreadId, ["messageId"] = "0" },
            ["participants"] = new JsonObject { ["organizer"] = new JsonObject { ["identity"] = new JsonObject { ["user"] = new JsonObject { ["id"] = userId } } } },
        }));
    }

    private IResult CreateChat(string unused, string? none, JsonNode? body)
    {
        var chatType = body?["chatType"]?.GetValue<string>();
        if (chatType is not ("group" or "oneOnOne"))
        {
            return Json(Error(400, "BadRequest", "chatType must be group or oneOnOne."));
        }

        var ids = new List<string>();
        foreach (var member in body?["members"] as JsonArray ?? [])
        {
            var bind = member?["user@odata.bind"]?.GetValue<string>() ?? "";
            var roles = (member?["roles"] as JsonArray ?? []).Select(r => r?.GetValue<string>()).ToList();
            var open = bind.IndexOf("/users('", StringComparison.Ordinal);
            if (member?["@odata.type"]?.GetValue<string>() != "#microsoft.graph.aadUserConversationMember" || open < 0 || !bind.EndsWith("')", StringComparison.Ordinal)
                || !roles.Any(r => r is "owner" or "guest"))
            {
                return Json(Error(400, "BadRequest", "Each member must be an aadUserConversationMember with user@odata.bind and the owner or guest role."));
            }

            ids.Add(Uri.UnescapeDataString(bind[(open + "/users('".Length)..^2]));
        }

        if (chatType == "group" && ids.Distinct(StringComparer.OrdinalIgnoreCase).Count() < 2 || chatType == "oneOnOne" && ids.Count != 2)
        {
            return Json(Error(400, "BadRequest", "A group chat needs at least two members; a one-on-one chat exactly two."));
        }

        var topic = body?["topic"]?.GetValue<string>();
        if (topic is not null && chatType != "group")
        {
            return Json(Error(400, "BadRequest", "Only a group chat can have a topic."));
        }

        var chat = new GraphChat($"19:{Guid.NewGuid():N}@thread.v2", chatType, topic, ids, DateTimeOffset.UtcNow);
        _chats[chat.Id] = chat;
        if (LoseThisAnswer())
        {
            return Json(Error(503, "ServiceNotAvailable", "Scripted: the chat was made but the answer was lost."));
        }

        return Json((201, new JsonObject
        {
            ["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#chats/$entity",
            ["id"] = chat.Id,
            ["topic"] = topic,
            ["createdDateTime"] = chat.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            ["lastUpdatedDateTime"] = chat.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            ["chatType"] = chatType,
            ["webUrl"] = $"https://teams.microsoft.com/l/chat/{Uri.EscapeDataString(chat.Id)}/0?tenantId={Tenant}",
            ["tenantId"] = Tenant,
        }));
    }

    private IResult InstallApp(string unused, string? chatId, JsonNode? body)
    {
        if (chatId is null || !_chats.TryGetValue(chatId, out var chat))
        {
            return Json(Error(404, "NotFound", "Chat not found."));
        }

        var bind = body?["teamsApp@odata.bind"]?.GetValue<string>() ?? "";
        const string marker = "/appCatalogs/teamsApps/";
        var at = bind.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return Json(Error(400, "BadRequest", "teamsApp@odata.bind is required."));
        }

        var appId = Uri.UnescapeDataString(bind[(at + marker.Length)..]);
        if (!string.Equals(appId, CatalogAppId, StringComparison.OrdinalIgnoreCase))
        {
            return Json(Error(404, "NotFound", $"App {appId} not found in the app catalog."));
        }

        var consented = (body?["consentedPermissionSet"]?["resourceSpecificPermissions"] as JsonArray ?? [])
            .Select(p => (p?["permissionValue"]?.GetValue<string>() ?? "", p?["permissionType"]?.GetValue<string>() ?? ""))
            .ToHashSet();
        if (!consented.SetEquals(AppResourceSpecificPermissions))
        {
            return Json(Error(403, "Forbidden", "The consented permissions do not match the resource-specific permissions of the app definition."));
        }

        if (chat.InstalledApps.Contains(appId, StringComparer.OrdinalIgnoreCase))
        {
            return Json(Error(409, "Conflict", "The app is already installed in this chat."));
        }

        chat.InstalledApps.Enqueue(appId);
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    private IResult ListTranscripts(string userId, string? meetingId, JsonNode? body)
    {
        // Graph answers 404 until the meeting has a transcript (minutes after it ends).
        if (meetingId is null || !_meetings.TryGetValue(meetingId, out var meeting) || meeting.OrganizerId != userId || meeting.Transcripts.IsEmpty)
        {
            return Json(Error(404, "NotFound", "The requested resource was not found."));
        }

        var items = meeting.Transcripts.Select(t => (JsonNode)new JsonObject
        {
            ["id"] = t.Id,
            ["meetingId"] = meeting.Id,
            ["meetingOrganizerId"] = userId,
            ["createdDateTime"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        }).ToArray();
        return Json((200, new JsonObject { ["value"] = new JsonArray(items) }));
    }

    private IResult TranscriptContent(string userId, string meetingId, string transcriptId, string format)
    {
        if (!_meetings.TryGetValue(meetingId, out var meeting) || meeting.OrganizerId != userId || meeting.Transcripts.All(t => t.Id != transcriptId))
        {
            return Json(Error(404, "NotFound", "The requested resource was not found."));
        }

        return format == "text/vtt"
            ? Results.Text(meeting.Transcripts.First(t => t.Id == transcriptId).Vtt, "text/vtt")
            : Json(Error(400, "BadRequest", "Only $format=text/vtt is served by this fake."));
    }

    private bool LoseThisAnswer()
    {
        if (Interlocked.Decrement(ref _loseCreateAnswers) >= 0)
        {
            return true;
        }

        Interlocked.Exchange(ref _loseCreateAnswers, 0);
        return false;
    }

    private static IResult Json((int Status, JsonObject? Body) answer) =>
        Results.Text(answer.Body?.ToJsonString() ?? "", "application/json", statusCode: answer.Status);

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
