using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Tests;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;

namespace IncidentBot.Slack.Tests;

/// <summary>How a test talks to the bot as Slack would: signed HTTP requests, or Socket Mode envelopes.</summary>
public interface ISlackTransport
{
    /// <summary>The answer the bot gave (the HTTP body or the ack payload); an empty object for an empty 200.</summary>
    Task<JsonElement> CommandAsync(IReadOnlyList<KeyValuePair<string, string>> fields);

    Task EventAsync(JsonObject callback, int retry = 0);

    Task<JsonElement> InteractionAsync(JsonObject payload);
}

/// <summary>The real host (<see cref="BotFactory"/>) with Slack configured against a <see cref="FakeSlackServer"/>.</summary>
public sealed class SlackHost : IAsyncDisposable
{
    public const string Secret = SlackSigner.TestSecret;

    private SlackHost(BotFactory factory, FakeSlackServer slack, bool socketMode)
    {
        Factory = factory;
        Slack = slack;
        Client = factory.CreateClient();
        Signer = new SlackSigner(Secret);
        Transport = socketMode ? new SocketTransport(slack) : new HttpTransport(this);
    }

    public BotFactory Factory { get; }
    public FakeSlackServer Slack { get; }
    public HttpClient Client { get; }
    public SlackSigner Signer { get; }
    public ISlackTransport Transport { get; }

    public IIncidentStore Store => Factory.Services.GetRequiredService<IIncidentStore>();

    public static Dictionary<string, string?> Settings(FakeSlackServer slack, bool socketMode) => new()
    {
        ["Slack:BotToken"] = FakeSlackServer.BotToken,
        ["Slack:SigningSecret"] = socketMode ? null : Secret,
        ["Slack:AppToken"] = socketMode ? FakeSlackServer.AppToken : null,
        ["Slack:ApiBaseUrl"] = slack.ApiBaseUrl.ToString(),
        ["Slack:ChannelPostInterval"] = "00:00:00.020",
    };

    /// <summary>
    /// The host with Slack configured; <paramref name="kestrel"/> serves it on real Kestrel on loopback instead of the
    /// in-memory test server (for what only a real server does: body limits, connections hung up).
    /// </summary>
    public static SlackHost Start(
        TestDatabase database,
        FakeSlackServer slack,
        bool socketMode = false,
        IReadOnlyDictionary<string, string?>? extra = null,
        Action<IServiceCollection>? services = null,
        bool kestrel = false)
    {
        var settings = Settings(slack, socketMode);
        if (kestrel)
        {
            settings["urls"] = "http://127.0.0.1:0";
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var factory = new BotFactory(database, settings, collection =>
        {
            collection.AddFakeLogging();
            services?.Invoke(collection);
        });
        if (kestrel)
        {
            factory.UseKestrel();
            factory.StartServer();
        }
        else
        {
            _ = factory.Server;
        }

        return new SlackHost(factory, slack, socketMode);
    }

    /// <summary>Everything the host logged.</summary>
    public FakeLogCollector Logs => Factory.Services.GetFakeLogCollector();

    public async Task<Incident> WaitForIncidentAsync(IncidentNumber number, Func<Incident, bool> condition, string what)
    {
        Incident? incident = null;
        await FakeSlackServer.WaitUntilAsync(() => (incident = Store.GetAsync(number, default).GetAwaiter().GetResult()) is { } i && condition(i), what);
        return incident!;
    }

    /// <summary>
    /// Waits until the war room of <paramref name="number"/> is open: linked (which comes first, before the invites) and
    /// every step after it done, the last being the read-back of the channel's history.
    /// </summary>
    public async Task<Incident> WaitForWarRoomAsync(IncidentNumber number)
    {
        var incident = await WaitForIncidentAsync(number, i => i.WarRooms.Count > 0, $"the war room link of {number}");
        var channel = incident.WarRooms[0].Channel;
        await FakeSlackServer.WaitUntilAsync(
            () => Slack.CallsTo("conversations.history").Any(c => c.Arg("channel") == channel && c.Arg("oldest") is not null),
            $"the war room of {number} to be opened");
        return incident;
    }

    public async Task<IReadOnlyList<TimelineEntry>> WaitForTimelineAsync(long incidentId, Func<IReadOnlyList<TimelineEntry>, bool> condition, string what)
    {
        IReadOnlyList<TimelineEntry> timeline = [];
        await FakeSlackServer.WaitUntilAsync(() => condition(timeline = Store.GetTimelineAsync(incidentId, default).GetAwaiter().GetResult()), what);
        return timeline;
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => Client.SendAsync(request);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
    }

    private sealed class HttpTransport(SlackHost host) : ISlackTransport
    {
        public async Task<JsonElement> CommandAsync(IReadOnlyList<KeyValuePair<string, string>> fields) =>
            await ReadAsync(await host.SendAsync(host.Signer.Form("/slack/commands", fields)));

        public async Task EventAsync(JsonObject callback, int retry = 0)
        {
            using var request = host.Signer.Json("/slack/events", callback);
            if (retry > 0)
            {
                request.Headers.Add("X-Slack-Retry-Num", retry.ToString(System.Globalization.CultureInfo.InvariantCulture));
                request.Headers.Add("X-Slack-Retry-Reason", "http_timeout");
            }

            var response = await host.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        public async Task<JsonElement> InteractionAsync(JsonObject payload) =>
            await ReadAsync(await host.SendAsync(host.Signer.Interaction(payload)));

        private static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body}");
            using var json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
            return json.RootElement.Clone();
        }
    }

    private sealed class SocketTransport(FakeSlackServer slack) : ISlackTransport
    {
        public Task<JsonElement> CommandAsync(IReadOnlyList<KeyValuePair<string, string>> fields) =>
            slack.SendEnvelopeAsync("slash_commands", SlackPayloads.CommandObject(fields));

        public Task EventAsync(JsonObject callback, int retry = 0) => slack.SendEnvelopeAsync("events_api", callback, retry);

        public Task<JsonElement> InteractionAsync(JsonObject payload) => slack.SendEnvelopeAsync("interactive", payload);
    }
}
