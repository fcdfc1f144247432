using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.TestKit.Slack;

/// <summary>One Web API call as the fake received it; <see cref="Args"/> merges form fields and JSON bodies.</summary>
public sealed record SlackCall(string Method, JsonObject Args, string? Token, DateTimeOffset At)
{
    public string? Arg(string name) => Args[name] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonNode n => n.ToJsonString(),
        null => null,
    };
}

/// <summary>A scripted answer for the next call of one method.</summary>
/// <param name="Status">HTTP status to answer (200 with <paramref name="Error"/> for <c>ok:false</c>).</param>
/// <param name="Error">Slack's error code for an <c>ok:false</c> answer.</param>
/// <param name="RetryAfterSeconds">Sent as <c>Retry-After</c> with a 429.</param>
/// <param name="ApplyFirst">Carry out the call, then answer with the failure (the answer is "lost").</param>
/// <param name="Hold">Carry out the call, then wait for this task before answering.</param>
public sealed record SlackFault(int Status = 200, string? Error = null, int? RetryAfterSeconds = null, bool ApplyFirst = false, Task? Hold = null)
{
    public static SlackFault RateLimited(int retryAfterSeconds) => new(429, RetryAfterSeconds: retryAfterSeconds);

    public static SlackFault ServerError() => new(500);

    public static SlackFault Fails(string error) => new(200, error);
}

public sealed class FakeChannel(string id, string name, string creator, long created)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public string Creator { get; } = creator;
    public long Created { get; } = created;
    public string Topic { get; set; } = "";
    public string Purpose { get; set; } = "";

    /// <summary>Made with <c>is_private: true</c>: nobody joins it uninvited, and Slack never makes it public or the other way round.</summary>
    public bool IsPrivate { get; init; }

    public bool IsArchived { get; set; }

    public ConcurrentDictionary<string, byte> Members { get; } = new();
    public ConcurrentDictionary<string, FakeMessage> Messages { get; } = new();
}

public sealed class FakeMessage(string ts, string? user, string text, JsonArray? blocks, string? threadTs = null)
{
    public string Ts { get; } = ts;
    public string? User { get; } = user;
    public string Text { get; set; } = text;
    public JsonArray? Blocks { get; set; } = blocks;

    /// <summary>The parent's ts for a thread reply; null for a top-level message.</summary>
    public string? ThreadTs { get; } = threadTs;

    /// <summary>Reaction names, each with the users who added it.</summary>
    public ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> Reactions { get; } = new();

    public bool IsReply => ThreadTs is not null && ThreadTs != Ts;
}

/// <summary>A file shared through files.getUploadURLExternal, the upload URL and files.completeUploadExternal.</summary>
public sealed class FakeFile(string id, string name, long declaredLength)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public long DeclaredLength { get; } = declaredLength;
    public byte[]? Content { get; set; }

    /// <summary>Whether the bytes arrived with an Authorization header (the upload URL is pre-signed and needs none).</summary>
    public bool UploadCarriedToken { get; set; }

    public string? Title { get; set; }
    public string? Channel { get; set; }
    public string? ThreadTs { get; set; }
    public string? InitialComment { get; set; }

    /// <summary>Completed and shared in <see cref="Channel"/>.</summary>
    public bool Shared { get; set; }
}

/// <summary>
/// Slack on loopback: the Web API (<c>POST /api/&lt;method&gt;</c>, form or JSON bodies, Bearer tokens) for the
/// methods IncidentBot uses, with channels, messages (threads and history paging too), reactions and uploaded files kept
/// in memory; Block Kit limits enforced; faults scriptable per method; hooks that run right after a method answered;
/// people talking and reacting with the Events API callback delivered to the bot; <c>response_url</c>s; upload URLs; and
/// a Socket Mode WebSocket server.
/// </summary>
public sealed partial class FakeSlackServer : IAsyncDisposable
{
    public const string BotToken = "xoxb-fake-bot-token";
    public const string AppToken = "xapp-1-fake-app-token";
    public const string BotUserId = "UBOTFAKE1";
    public const string BotId = "BFAKE1";
    public const string TeamId = "TFAKE1";
    public const string AppId = "AFAKE1";

    private readonly ConcurrentQueue<SlackCall> _calls = new();
    private readonly ConcurrentQueue<(string Method, string Error)> _rejections = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<SlackFault>> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _usedTriggers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FakeFile> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Id, JsonObject Body)> _responses = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _pendingAcks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, SocketConnection> _sockets = new();
    private readonly ConcurrentDictionary<string, Func<SlackCall, JsonObject, Task>> _afterAnswer = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Exception> _hookFailures = new();
    private readonly Lock _tsGate = new();
    private readonly HttpClient _events = new() { Timeout = TimeSpan.FromSeconds(10) };
    private WebApplication? _app;
    private (Uri[] EventsUrls, SlackSigner Signer)? _bot;
    private int _nextBot;
    private SocketRelay? _relay;
    private long _lastTsMicros;
    private int _channelCounter;
    private int _fileCounter;
    private int _socketCounter;
    private int _connectionsOpened;
    private int _roundRobin;
    private int _outageAnswers;
    private int _responsesInFlight;
    private int _mostResponsesInFlight;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>What to configure as <c>Slack:ApiBaseUrl</c>.</summary>
    public Uri ApiBaseUrl => new(BaseAddress, "api/");

    public IReadOnlyList<SlackCall> Calls => _calls.ToArray();

    /// <summary>Calls the fake itself answered with <c>ok:false</c> (scripted faults not included).</summary>
    public IReadOnlyList<(string Method, string Error)> Rejections => _rejections.ToArray();

    public IReadOnlyDictionary<string, FakeChannel> Channels => _channels;

    /// <summary>Files by id, from the moment an upload URL was handed out.</summary>
    public IReadOnlyDictionary<string, FakeFile> Files => _files;

    /// <summary>Bodies posted to <see cref="ResponseUrl"/>s, with the id each URL carried.</summary>
    public IReadOnlyList<(string Id, JsonObject Body)> Responses => _responses.ToArray();

    /// <summary>While set and not complete, a post to a <see cref="ResponseUrl"/> is held open (in flight) until it completes.</summary>
    public Task? HoldResponses { get; set; }

    /// <summary>Posts to <see cref="ResponseUrl"/>s being answered right now.</summary>
    public int ResponsesInFlight => Volatile.Read(ref _responsesInFlight);

    /// <summary>The most posts to <see cref="ResponseUrl"/>s ever in flight at once.</summary>
    public int MostResponsesInFlight => Volatile.Read(ref _mostResponsesInFlight);

    /// <summary>The Enterprise Grid organisation auth.test reports (none by default: a plain workspace).</summary>
    public string? EnterpriseId { get; set; }

    /// <summary>Whether auth.test reports an org-wide install (with <see cref="EnterpriseId"/>).</summary>
    public bool EnterpriseInstall { get; set; }

    /// <summary>How many times <c>apps.connections.open</c> handed out a URL.</summary>
    public int ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    /// <summary>Socket Mode connections open now.</summary>
    public int OpenSockets => _sockets.Count;

    public static async Task<FakeSlackServer> StartAsync()
    {
        var server = new FakeSlackServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(5) });
        app.MapPost("/api/{method}", server.HandleApiAsync);
        app.MapPost("/respond/{id}", server.HandleResponseAsync);
        app.MapPost("/upload/{id}", server.HandleUploadAsync);
        app.Map("/socket", server.HandleSocketAsync);
        await app.StartAsync();
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        server._relay = new SocketRelay(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, server.BaseAddress.Port));
        return server;
    }

    /// <summary>
    /// Every open Socket Mode connection goes half-open: Slack's side is gone, but the bot's socket stays open and hears
    /// nothing more, not even answers to its pings. Returns how many connections went so.
    /// </summary>
    public int FreezeSockets() => _relay!.FreezeAll();

    public IReadOnlyList<SlackCall> CallsTo(string method) => Calls.Where(c => c.Method == method).ToList();

    /// <summary>A response_url that lands in <see cref="Responses"/>.</summary>
    public Uri ResponseUrl(string id) => new(BaseAddress, $"respond/{id}");

    /// <summary>The next calls of <paramref name="method"/> get these answers, in order.</summary>
    public void Script(string method, params SlackFault[] faults)
    {
        var queue = _faults.GetOrAdd(method, _ => new ConcurrentQueue<SlackFault>());
        foreach (var fault in faults)
        {
            queue.Enqueue(fault);
        }
    }

    public void AddUser(string id, string name) => _users[id] = name;

    /// <summary>A channel someone else made, e.g. to occupy a name.</summary>
    public FakeChannel AddChannel(string name, string creator = "UOTHER", DateTimeOffset? created = null)
    {
        var channel = NewChannel(name, creator, (created ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds());
        channel.Members[BotUserId] = 0;
        return channel;
    }

    /// <summary>
    /// A person's message as Slack would store it (posted <paramref name="at"/>, now by default); returns its ts, for the
    /// event the test then sends.
    /// </summary>
    public string PostUserMessage(string channelId, string user, string text, string? threadTs = null, DateTimeOffset? at = null)
    {
        var ts = at is { } time ? $"{time.ToUnixTimeSeconds()}.{time.UtcTicks / 10 % 1_000_000:D6}" : NextTs();
        _channels[channelId].Messages[ts] = new FakeMessage(ts, user, text, null, threadTs);
        return ts;
    }

    /// <summary>While set, every Web API call is answered with this HTTP status (a 5xx outage) and changes nothing.</summary>
    public int? OutageStatus { get; set; }

    /// <summary>How many calls the outage answered.</summary>
    public int OutageAnswers => Volatile.Read(ref _outageAnswers);

    /// <summary>Hooks that threw (a failed assertion or delivery inside a hook); a test should find none.</summary>
    public IReadOnlyList<Exception> HookFailures => _hookFailures.ToArray();

    /// <summary>
    /// Runs <paramref name="hook"/> after every call of <paramref name="method"/> once its answer has reached the caller,
    /// with the call and the answer: test code at the exact moment the bot learns, say, that its channel exists.
    /// Replaces an earlier hook of that method; null removes it.
    /// </summary>
    public void AfterAnswer(string method, Func<SlackCall, JsonObject, Task>? hook)
    {
        if (hook is null)
        {
            _afterAnswer.TryRemove(method, out _);
        }
        else
        {
            _afterAnswer[method] = hook;
        }
    }

    /// <summary>
    /// From now on the Events API callbacks of <see cref="SayAsync"/> and <see cref="ReactAsync"/> go to the bot's
    /// <c>/slack/events</c> at <paramref name="botAddress"/>, signed with <paramref name="signingSecret"/>, as Slack sends them.
    /// </summary>
    public void DeliverEventsTo(Uri botAddress, string signingSecret) => DeliverEventsTo([botAddress], signingSecret);

    /// <summary>As <see cref="DeliverEventsTo(Uri, string)"/>, to several instances of the bot in turn (round robin), as a load balancer would.</summary>
    public void DeliverEventsTo(IReadOnlyList<Uri> botAddresses, string signingSecret) =>
        _bot = ([.. botAddresses.Select(address => new Uri(address, "/slack/events"))], new SlackSigner(signingSecret));

    /// <summary>
    /// A person says something in a channel (a thread reply with <paramref name="threadTs"/>): stored as Slack stores it,
    /// then its <c>message</c> event delivered to the bot. Returns the message's ts once the bot has answered 200.
    /// </summary>
    public async Task<string> SayAsync(string channelId, string user, string text, string? threadTs = null)
    {
        var ts = PostUserMessage(channelId, user, text, threadTs);
        await DeliverEventAsync(SlackPayloads.Message(channelId, user, ts, text, threadTs));
        return ts;
    }

    /// <summary>A reaction as Slack would store it, without telling the bot.</summary>
    public void AddUserReaction(string channelId, string ts, string user, string reaction) =>
        _channels[channelId].Messages[ts].Reactions.GetOrAdd(reaction, _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal))[user] = 0;

    /// <summary>A person adds a reaction to a message: stored, then its <c>reaction_added</c> event delivered to the bot.</summary>
    public async Task ReactAsync(string channelId, string ts, string user, string reaction)
    {
        AddUserReaction(channelId, ts, user, reaction);
        await DeliverEventAsync(SlackPayloads.Reaction(true, user, reaction, channelId, ts));
    }

    private async Task DeliverEventAsync(JsonObject inner)
    {
        var (urls, signer) = _bot ?? throw new InvalidOperationException("Call DeliverEventsTo first: the fake does not know where the bot listens.");
        var url = urls[(int)((uint)Interlocked.Increment(ref _nextBot) % urls.Length)];
        using var request = signer.Json(url.ToString(), SlackPayloads.EventCallback(inner));
        using var response = await _events.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The bot answered the {inner["type"]} event with {(int)response.StatusCode}.");
        }
    }

    public FakeChannel? ChannelNamed(string name) => _channels.Values.FirstOrDefault(c => c.Name == name);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test with <paramref name="what"/> otherwise.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(25);
        }
    }

    public Task WaitForCallsAsync(string method, int count, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => CallsTo(method).Count >= count, $"{count} call(s) to {method} (have {CallsTo(method).Count})", timeout);

    /// <summary>Sends a Socket Mode envelope on one open connection and returns the ack's payload (an empty object when none).</summary>
    public async Task<JsonElement> SendEnvelopeAsync(string type, JsonObject payload, int retryAttempt = 0, TimeSpan? timeout = null)
    {
        await WaitUntilAsync(() => !_sockets.IsEmpty, "a Socket Mode connection");
        var connections = _sockets.Values.ToArray();
        var connection = connections[(int)((uint)Interlocked.Increment(ref _roundRobin) % connections.Length)];
        var envelopeId = Guid.NewGuid().ToString();
        var ack = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingAcks[envelopeId] = ack;
        var envelope = new JsonObject
        {
            ["envelope_id"] = envelopeId,
            ["type"] = type,
            ["payload"] = payload.DeepClone(),
            ["accepts_response_payload"] = type != "events_api",
        };
        if (type == "events_api")
        {
            envelope["retry_attempt"] = retryAttempt;
            envelope["retry_reason"] = retryAttempt > 0 ? "timeout" : "";
        }

        await connection.SendAsync(envelope);
        var done = await Task.WhenAny(ack.Task, Task.Delay(timeout ?? TimeSpan.FromSeconds(10)));
        _pendingAcks.TryRemove(envelopeId, out _);
        return done == ack.Task ? await ack.Task : throw new TimeoutException($"Envelope {envelopeId} ({type}) was not acknowledged.");
    }

    /// <summary>Asks one connection to go away, as Slack does before a refresh.</summary>
    public async Task SendDisconnectAsync(string reason)
    {
        var connection = _sockets.Values.First();
        await connection.SendAsync(new JsonObject { ["type"] = "disconnect", ["reason"] = reason, ["debug_info"] = new JsonObject { ["host"] = "fake" } });
    }

    public async ValueTask DisposeAsync()
    {
        _events.Dispose();
        foreach (var socket in _sockets.Values)
        {
            socket.Abort();
        }

        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private async Task HandleApiAsync(HttpContext context, string method)
    {
        var args = await ReadArgsAsync(context.Request);
        var auth = context.Request.Headers.Authorization.ToString();
        var token = auth.StartsWith("Bearer ", StringComparison.Ordinal) ? auth[7..] : (string?)args["token"];
        var call = new SlackCall(method, args, token, DateTimeOffset.UtcNow);
        _calls.Enqueue(call);

        if (OutageStatus is { } outage)
        {
            Interlocked.Increment(ref _outageAnswers);
            context.Response.StatusCode = outage;
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(Error("service_unavailable").ToJsonString(), context.RequestAborted);
            return;
        }

        SlackFault? fault = null;
        if (_faults.TryGetValue(method, out var queue))
        {
            queue.TryDequeue(out fault);
        }

        JsonObject answer;
        if (fault is { ApplyFirst: false, Hold: null })
        {
            answer = new JsonObject { ["ok"] = false, ["error"] = fault.Error ?? "fatal_error" };
        }
        else
        {
            var expected = method == "apps.connections.open" ? AppToken : BotToken;
            answer = token is null ? Error("not_authed") : token != expected ? Error("invalid_auth") : Apply(method, args);
            if (answer["ok"]?.GetValue<bool>() == false)
            {
                _rejections.Enqueue((method, (string?)answer["error"] ?? ""));
            }

            if (fault?.Hold is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }
        }

        if (fault is not null && (fault.Status != 200 || fault.Error is not null))
        {
            context.Response.StatusCode = fault.Status;
            if (fault.RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            answer = fault.Status == 200 ? Error(fault.Error!) : Error(fault.Status == 429 ? "ratelimited" : "internal_error");
        }

        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(answer.ToJsonString(), context.RequestAborted);
        if (_afterAnswer.TryGetValue(method, out var hook))
        {
            // The caller has the whole answer before the hook runs.
            await context.Response.CompleteAsync();
            try
            {
                await hook(call, answer);
            }
            catch (Exception ex)
            {
                _hookFailures.Enqueue(ex);
            }
        }
    }

    private JsonObject Apply(string method, JsonObject args)
    {
        switch (method)
        {
            case "auth.test":
                var auth = new JsonObject { ["user_id"] = BotUserId, ["bot_id"] = BotId, ["team_id"] = TeamId, ["user"] = "incidentbot" };
                if (EnterpriseId is not null)
                {
                    auth["enterprise_id"] = EnterpriseId;
                    auth["is_enterprise_install"] = EnterpriseInstall;
                }

                return Ok(auth);
            case "apps.connections.open":
                var ticket = Interlocked.Increment(ref _connectionsOpened);
                // Through the relay, so a test can leave the connection half-open.
                var ws = new UriBuilder(BaseAddress) { Scheme = "ws", Port = _relay!.Port, Path = "/socket", Query = $"ticket={ticket}" }.Uri;
                return Ok(new() { ["url"] = ws.ToString() });
            case "conversations.create":
                var name = S(args, "name") ?? "";
                if (name.Length == 0)
                {
                    return Error("invalid_name_required");
                }

                if (name.Length > 80)
                {
                    return Error("invalid_name_maxlength");
                }

                if (!ChannelName().IsMatch(name))
                {
                    return Error("invalid_name_specials");
                }

                lock (_channels)
                {
                    if (ChannelNamed(name) is not null)
                    {
                        return Error("name_taken");
                    }

                    var created = NewChannel(name, BotUserId, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), args["is_private"] is JsonValue p && (p.TryGetValue<bool>(out var b) ? b : S(args, "is_private") == "true"));
                    created.Members[BotUserId] = 0;
                    return Ok(new() { ["channel"] = ChannelJson(created) });
                }

            case "conversations.invite":
                if (Channel(args, "channel") is not { } invited)
                {
                    return Error("channel_not_found");
                }

                var users = (S(args, "users") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (users.Length == 0)
                {
                    return Error("no_user");
                }

                if (users.Length > 100)
                {
                    return Error("too_many_users");
                }

                if (users.Contains(BotUserId))
                {
                    return Error("cant_invite_self");
                }

                if (users.All(u => invited.Members.ContainsKey(u)))
                {
                    return Error("already_in_channel");
                }

                foreach (var user in users)
                {
                    invited.Members[user] = 0;
                }

                return Ok(new() { ["channel"] = ChannelJson(invited) });
            case "conversations.setTopic":
            case "conversations.setPurpose":
                if (Channel(args, "channel") is not { } titled)
                {
                    return Error("channel_not_found");
                }

                var value = S(args, method == "conversations.setTopic" ? "topic" : "purpose") ?? "";
                if (value.Length > 250)
                {
                    return Error("too_long");
                }

                if (method == "conversations.setTopic")
                {
                    titled.Topic = value;
                }
                else
                {
                    titled.Purpose = value;
                }

                return Ok(new() { ["channel"] = ChannelJson(titled) });
            case "conversations.join":
                if (Channel(args, "channel") is not { } joined)
                {
                    return Error("channel_not_found");
                }

                if (joined.IsPrivate && !joined.Members.ContainsKey(BotUserId))
                {
                    return Error("method_not_supported_for_channel_type");
                }

                joined.Members[BotUserId] = 0;
                return Ok(new() { ["channel"] = ChannelJson(joined) });
            case "conversations.archive":
                if (Channel(args, "channel") is not { } archived)
                {
                    return Error("channel_not_found");
                }

                if (archived.IsArchived)
                {
                    return Error("already_archived");
                }

                archived.IsArchived = true;
                return Ok([]);
            case "conversations.members":
                if (Channel(args, "channel") is not { } listed)
                {
                    return Error("channel_not_found");
                }

                if (listed.IsPrivate && !listed.Members.ContainsKey(BotUserId))
                {
                    return Error("channel_not_found");
                }

                // Pages of `limit` members, the cursor being the offset, as Slack pages (its cursors are opaque).
                var members = listed.Members.Keys.Order(StringComparer.Ordinal).ToList();
                var offset = int.TryParse(S(args, "cursor"), NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : 0;
                var limit = int.TryParse(S(args, "limit"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? Math.Clamp(l, 1, 1000) : 100;
                var next = offset + limit < members.Count ? (offset + limit).ToString(CultureInfo.InvariantCulture) : "";
                return Ok(new()
                {
                    ["members"] = new JsonArray(members.Skip(offset).Take(limit).Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
                    ["response_metadata"] = new JsonObject { ["next_cursor"] = next },
                });
            case "conversations.list":
                return Ok(new()
                {
                    ["channels"] = new JsonArray(_channels.Values.OrderBy(c => c.Id, StringComparer.Ordinal).Select(c => (JsonNode)ChannelJson(c)).ToArray()),
                    ["response_metadata"] = new JsonObject { ["next_cursor"] = "" },
                });
            case "conversations.history":
                if (Channel(args, "channel") is not { } history)
                {
                    return Error("channel_not_found");
                }

                // Top-level messages (and thread replies also sent to the channel), newest first, a page at a time.
                return Page(history, history.Messages.Values.Where(m => !m.IsReply).OrderByDescending(m => m.Ts, StringComparer.Ordinal), args);
            case "conversations.replies":
                if (Channel(args, "channel") is not { } thread)
                {
                    return Error("channel_not_found");
                }

                if (S(args, "ts") is not { } parentTs || !thread.Messages.ContainsKey(parentTs))
                {
                    return Error("thread_not_found");
                }

                // The parent first, then its replies oldest first.
                return Page(thread, thread.Messages.Values.Where(m => m.Ts == parentTs || m.ThreadTs == parentTs).OrderBy(m => m.Ts, StringComparer.Ordinal), args);
            case "chat.postMessage":
                if (Channel(args, "channel") is not { } target)
                {
                    return Error("channel_not_found");
                }

                if (target.IsArchived)
                {
                    return Error("is_archived");
                }

                if (!target.Members.ContainsKey(BotUserId))
                {
                    return Error("not_in_channel");
                }

                if (Check(args) is { } invalidPost)
                {
                    return invalidPost;
                }

                var ts = NextTs();
                var posted = new FakeMessage(ts, BotUserId, S(args, "text") ?? "", args["blocks"] as JsonArray);
                target.Messages[ts] = posted;
                return Ok(new() { ["channel"] = target.Id, ["ts"] = ts, ["message"] = MessageJson(posted) });
            case "chat.update":
                if (Channel(args, "channel") is not { } updatedIn)
                {
                    return Error("channel_not_found");
                }

                if (S(args, "ts") is not { } updateTs || !updatedIn.Messages.TryGetValue(updateTs, out var updated))
                {
                    return Error("message_not_found");
                }

                if (Check(args) is { } invalidUpdate)
                {
                    return invalidUpdate;
                }

                updated.Text = S(args, "text") ?? updated.Text;
                updated.Blocks = args["blocks"] as JsonArray ?? updated.Blocks;
                return Ok(new() { ["channel"] = updatedIn.Id, ["ts"] = updateTs });
            case "chat.postEphemeral":
                return Channel(args, "channel") is null ? Error("channel_not_found") : Check(args) ?? Ok(new() { ["message_ts"] = NextTs() });
            case "chat.getPermalink":
                return Ok(new() { ["permalink"] = $"https://fake.slack.com/archives/{S(args, "channel")}/p{S(args, "message_ts")?.Replace(".", "", StringComparison.Ordinal)}" });
            case "reactions.add":
                if (Channel(args, "channel") is not { } reactedIn)
                {
                    return Error("channel_not_found");
                }

                if (S(args, "timestamp") is not { } reactedTs || !reactedIn.Messages.TryGetValue(reactedTs, out var reacted))
                {
                    return Error("message_not_found");
                }

                var reactors = reacted.Reactions.GetOrAdd(S(args, "name") ?? "", _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
                return reactors.TryAdd(BotUserId, 0) ? Ok([]) : Error("already_reacted");
            case "bookmarks.add":
                return Channel(args, "channel_id") is null ? Error("channel_not_found") : Ok(new() { ["bookmark"] = new JsonObject { ["id"] = "Bk1" } });
            case "views.open":
            case "views.push":
                var trigger = S(args, "trigger_id");
                if (string.IsNullOrEmpty(trigger))
                {
                    return Error("invalid_arguments");
                }

                if (!_usedTriggers.TryAdd(trigger, 0))
                {
                    return Error("exchanged_trigger_id");
                }

                return ViewCheck(args) ?? Ok(new() { ["view"] = new JsonObject { ["id"] = "V" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant() } });
            case "views.update":
                return ViewCheck(args) ?? Ok(new() { ["view"] = new JsonObject { ["id"] = S(args, "view_id") } });
            case "users.info":
                var id = S(args, "user") ?? "";
                return _users.TryGetValue(id, out var userName)
                    ? Ok(new() { ["user"] = new JsonObject { ["id"] = id, ["name"] = userName, ["real_name"] = userName, ["is_bot"] = false, ["profile"] = new JsonObject { ["display_name"] = userName } } })
                    : Error("user_not_found");
            case "files.getUploadURLExternal":
                var fileName = S(args, "filename");
                if (string.IsNullOrEmpty(fileName) || !long.TryParse(S(args, "length"), NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= 0)
                {
                    return Error("invalid_arguments");
                }

                var fileId = "F" + Interlocked.Increment(ref _fileCounter).ToString("D8", CultureInfo.InvariantCulture);
                _files[fileId] = new FakeFile(fileId, fileName, length);
                return Ok(new() { ["upload_url"] = new Uri(BaseAddress, $"upload/{fileId}").ToString(), ["file_id"] = fileId });
            case "files.completeUploadExternal":
                if (args["files"] is not JsonArray { Count: > 0 } completed)
                {
                    return Error("invalid_arguments");
                }

                var shareIn = S(args, "channel_id");
                FakeChannel? shareChannel = null;
                if (shareIn is not null)
                {
                    if (!_channels.TryGetValue(shareIn, out shareChannel))
                    {
                        return Error("channel_not_found");
                    }

                    if (!shareChannel.Members.ContainsKey(BotUserId))
                    {
                        return Error("not_in_channel");
                    }
                }

                var shared = new List<FakeFile>();
                foreach (var item in completed)
                {
                    if (item is not JsonObject entry || S(entry, "id") is not { } completeId || !_files.TryGetValue(completeId, out var pending) || pending.Content is null)
                    {
                        return Error("file_not_found");
                    }

                    if (pending.Content.LongLength != pending.DeclaredLength)
                    {
                        return Error("file_length_mismatch");
                    }

                    shared.Add(pending);
                    pending.Title = S(entry, "title") ?? pending.Name;
                }

                foreach (var file in shared)
                {
                    file.Channel = shareChannel?.Id;
                    file.ThreadTs = S(args, "thread_ts");
                    file.InitialComment = S(args, "initial_comment");
                    file.Shared = shareChannel is not null;
                }

                return Ok(new() { ["files"] = new JsonArray(shared.Select(f => (JsonNode)new JsonObject { ["id"] = f.Id, ["name"] = f.Name, ["title"] = f.Title }).ToArray()) });
            default:
                return Error("unknown_method");
        }
    }

    /// <summary>The upload URL: raw bytes or a multipart form with one file, answered with HTTP 200 as Slack does.</summary>
    private async Task HandleUploadAsync(HttpContext context, string id)
    {
        if (!_files.TryGetValue(id, out var file))
        {
            context.Response.StatusCode = 404;
            return;
        }

        using var content = new MemoryStream();
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (form.Files.Count != 1)
            {
                context.Response.StatusCode = 400;
                return;
            }

            await form.Files[0].CopyToAsync(content, context.RequestAborted);
        }
        else
        {
            await context.Request.Body.CopyToAsync(content, context.RequestAborted);
        }

        file.Content = content.ToArray();
        file.UploadCarriedToken = context.Request.Headers.Authorization.Count > 0;
        await context.Response.WriteAsync($"OK - {file.Content.Length}", context.RequestAborted);
    }

    private async Task HandleResponseAsync(HttpContext context, string id)
    {
        var inFlight = Interlocked.Increment(ref _responsesInFlight);
        for (var most = Volatile.Read(ref _mostResponsesInFlight); inFlight > most; most = Volatile.Read(ref _mostResponsesInFlight))
        {
            Interlocked.CompareExchange(ref _mostResponsesInFlight, inFlight, most);
        }

        try
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = JsonNode.Parse(await reader.ReadToEndAsync(context.RequestAborted)) as JsonObject ?? [];
            if (HoldResponses is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }

            _responses.Enqueue((id, body));
            await context.Response.WriteAsync("ok", context.RequestAborted);
        }
        finally
        {
            Interlocked.Decrement(ref _responsesInFlight);
        }
    }

    private async Task HandleSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var id = Interlocked.Increment(ref _socketCounter);
        var connection = new SocketConnection(socket);
        _sockets[id] = connection;
        try
        {
            await connection.SendAsync(new JsonObject
            {
                ["type"] = "hello",
                ["num_connections"] = _sockets.Count,
                ["connection_info"] = new JsonObject { ["app_id"] = AppId },
                ["debug_info"] = new JsonObject { ["host"] = "fake", ["approximate_connection_time"] = 18060 },
            });
            var buffer = new byte[64 * 1024];
            while (socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    break;
                }

                using var ack = JsonDocument.Parse(message.ToArray());
                if (ack.RootElement.TryGetProperty("envelope_id", out var envelopeId) && _pendingAcks.TryGetValue(envelopeId.GetString()!, out var pending))
                {
                    pending.TrySetResult(ack.RootElement.TryGetProperty("payload", out var payload) ? payload.Clone() : JsonDocument.Parse("{}").RootElement.Clone());
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            _sockets.TryRemove(id, out _);
        }
    }

    private static async Task<JsonObject> ReadArgsAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            return body.Length == 0 ? [] : JsonNode.Parse(body) as JsonObject ?? [];
        }

        // Form bodies carry objects (blocks, view) as JSON strings, as the official SDKs send them.
        var args = new JsonObject();
        foreach (var (key, value) in QueryHelpers.ParseQuery(body))
        {
            var text = value.ToString();
            args[key] = key is "blocks" or "view" or "attachments" or "files" && text.Length > 0 ? JsonNode.Parse(text) : text;
        }

        return args;
    }

    private static JsonObject? Check(JsonObject args)
    {
        if ((S(args, "text") ?? "").Length == 0 && args["blocks"] is null)
        {
            return Error("no_text");
        }

        if (args["blocks"] is not null and not JsonArray)
        {
            return Error("invalid_blocks_format");
        }

        return BlockKitLimits.CheckMessageBlocks(args["blocks"] as JsonArray) is { } problem
            ? new JsonObject { ["ok"] = false, ["error"] = "invalid_blocks", ["response_metadata"] = new JsonObject { ["messages"] = new JsonArray($"[ERROR] {problem}") } }
            : null;
    }

    private static JsonObject? ViewCheck(JsonObject args) =>
        BlockKitLimits.CheckView(args["view"] as JsonObject) is { } problem
            ? new JsonObject { ["ok"] = false, ["error"] = "invalid_arguments", ["response_metadata"] = new JsonObject { ["messages"] = new JsonArray($"[ERROR] {problem}") } }
            : null;

    private FakeChannel NewChannel(string name, string creator, long created, bool isPrivate = false)
    {
        var id = "C" + Interlocked.Increment(ref _channelCounter).ToString("D8", CultureInfo.InvariantCulture);
        var channel = new FakeChannel(id, name, creator, created) { IsPrivate = isPrivate };
        _channels[id] = channel;
        return channel;
    }

    private FakeChannel? Channel(JsonObject args, string key) =>
        S(args, key) is { } id && _channels.TryGetValue(id, out var channel) ? channel : null;

    private string NextTs()
    {
        lock (_tsGate)
        {
            var micros = Math.Max(_lastTsMicros + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000);
            _lastTsMicros = micros;
            return $"{micros / 1_000_000}.{micros % 1_000_000:D6}";
        }
    }

    private static JsonObject ChannelJson(FakeChannel c) => new()
    {
        ["id"] = c.Id,
        ["name"] = c.Name,
        ["creator"] = c.Creator,
        ["created"] = c.Created,
        ["is_channel"] = true,
        ["is_private"] = c.IsPrivate,
        ["is_archived"] = c.IsArchived,
        ["is_member"] = c.Members.ContainsKey(BotUserId),
        ["topic"] = new JsonObject { ["value"] = c.Topic },
        ["purpose"] = new JsonObject { ["value"] = c.Purpose },
    };

    /// <summary>
    /// One page of <paramref name="ordered"/> as conversations.history and conversations.replies answer: <c>oldest</c>,
    /// <c>latest</c> and <c>inclusive</c> bound it, <c>limit</c> (default 100) cuts it, and an opaque <c>cursor</c> continues it.
    /// </summary>
    private static JsonObject Page(FakeChannel channel, IEnumerable<FakeMessage> ordered, JsonObject args)
    {
        var oldest = S(args, "oldest");
        var latest = S(args, "latest");
        var inclusive = S(args, "inclusive") is "true" or "1";
        var limit = int.TryParse(S(args, "limit"), NumberStyles.None, CultureInfo.InvariantCulture, out var l) && l > 0 ? Math.Min(l, 999) : 100;
        var skip = S(args, "cursor") is { Length: > 0 } cursor
            ? int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(cursor)).Split(':')[1], CultureInfo.InvariantCulture)
            : 0;
        var matching = ordered.Where(m =>
            (oldest is null || (inclusive ? string.CompareOrdinal(m.Ts, oldest) >= 0 : string.CompareOrdinal(m.Ts, oldest) > 0)) &&
            (latest is null || (inclusive ? string.CompareOrdinal(m.Ts, latest) <= 0 : string.CompareOrdinal(m.Ts, latest) < 0))).ToList();
        var page = matching.Skip(skip).Take(limit).ToList();
        var more = skip + page.Count < matching.Count;
        return Ok(new()
        {
            ["messages"] = new JsonArray(page.Select(m => (JsonNode)MessageJson(m, channel)).ToArray()),
            ["has_more"] = more,
            ["response_metadata"] = new JsonObject
            {
                ["next_cursor"] = more ? Convert.ToBase64String(Encoding.UTF8.GetBytes($"next:{skip + page.Count}")) : "",
            },
        });
    }

    private static JsonObject MessageJson(FakeMessage m, FakeChannel? channel = null)
    {
        var json = new JsonObject { ["type"] = "message", ["ts"] = m.Ts, ["text"] = m.Text };
        if (m.User == BotUserId)
        {
            json["bot_id"] = BotId;
        }

        if (m.User is not null)
        {
            json["user"] = m.User;
        }

        if (m.ThreadTs is not null)
        {
            json["thread_ts"] = m.ThreadTs;
        }

        var replies = channel?.Messages.Values.Count(r => r.ThreadTs == m.Ts && r.IsReply) ?? 0;
        if (replies > 0)
        {
            json["reply_count"] = replies;
        }

        var reactions = m.Reactions.Where(r => !r.Value.IsEmpty).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        if (reactions.Count > 0)
        {
            json["reactions"] = new JsonArray(reactions.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Key,
                ["users"] = new JsonArray(r.Value.Keys.Order(StringComparer.Ordinal).Select(u => (JsonNode)JsonValue.Create(u)).ToArray()),
                ["count"] = r.Value.Count,
            }).ToArray());
        }

        return json;
    }

    private static string? S(JsonObject args, string key) => args[key] switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        _ => null,
    };

    private static JsonObject Ok(JsonObject fields)
    {
        var answer = new JsonObject { ["ok"] = true };
        foreach (var (key, value) in fields.ToList())
        {
            fields.Remove(key);
            answer[key] = value;
        }

        return answer;
    }

    private static JsonObject Error(string code) => new() { ["ok"] = false, ["error"] = code };

    [GeneratedRegex("^[a-z0-9_-]{1,80}$")]
    private static partial Regex ChannelName();

    private sealed class SocketConnection(WebSocket socket)
    {
        private readonly SemaphoreSlim _send = new(1, 1);

        public async Task SendAsync(JsonObject message)
        {
            await _send.WaitAsync();
            try
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                _send.Release();
            }
        }

        public void Abort() => socket.Abort();
    }
}
