using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests;

public sealed class TelemetryTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task ChatEndpoint_AnyAnswer_RecordsAckDuration()
    {
        var endpoint = "/slack/commands";
        var recorded = new ConcurrentBag<(double Ms, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == "incidentbot.ack.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            var map = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(map.GetValueOrDefault("endpoint"), endpoint))
            {
                recorded.Add((value, map));
            }
        });
        listener.Start();

        await using var factory = new BotFactory(_database);
        var response = await factory.CreateClient().PostAsync(new Uri(endpoint, UriKind.Relative), new StringContent("token=x"));

        var (ms, measuredTags) = Assert.Single(recorded);
        Assert.True(ms >= 0);
        Assert.Equal("slack", measuredTags["platform"]);
        Assert.Equal((int)response.StatusCode, measuredTags["status"]);
    }

    [Theory]
    [InlineData("/slack/commands", "/slack/commands")]
    [InlineData("/slack/commands?caller=chosen-series-1", "/slack/commands")]
    [InlineData("/slack/chosen-series-2", "(unmatched)")]
    [InlineData("/api/messages/chosen-series-3", "(unmatched)")]
    [InlineData("/paging/pagerduty", "/paging/pagerduty")]
    [InlineData("/paging/chosen-series-4", "(unmatched)")]
    public async Task AckDuration_TaggedByRouteTemplate_NotByRawPath(string path, string expected)
    {
        var endpoints = new ConcurrentBag<object?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == "incidentbot.ack.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "endpoint")
                {
                    endpoints.Add(tag.Value);
                }
            }
        });
        listener.Start();

        await using var factory = new BotFactory(_database);
        await factory.CreateClient().PostAsync(new Uri(path, UriKind.Relative), new StringContent("token=x"));

        Assert.Contains(expected, endpoints);
        Assert.DoesNotContain(endpoints, e => e is string s && s.Contains("chosen-series", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Traces_HttpClientCallToCapabilityUrl_ExportedRedacted()
    {
        await using var collector = await FakeOtlpCollector.StartAsync();
        var factory = new BotFactory(_database, new Dictionary<string, string?> { ["Telemetry:OtlpEndpoint"] = collector.Address.ToString() });
        _ = factory.Server;

        // A Slack response_url: whoever holds it may post into the channel. The call goes to the collector on loopback.
        var secret = "Zq" + Guid.NewGuid().ToString("N");
        using (var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(collector.Address.Host, collector.Address.Port, ct);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        })
        using (var http = new HttpClient(handler))
        {
            await http.PostAsync(new Uri($"http://hooks.slack.com/commands/T0001/B0002/{secret}?token={secret}"), new StringContent("{}"));
        }

        // Spans are exported in batches (every few seconds, and at shutdown): wait for the one of this call.
        string Traces() => System.Text.Encoding.UTF8.GetString(collector.Exports.Where(e => e.Path == "/v1/traces").SelectMany(e => e.Body).ToArray());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!Traces().Contains("hooks.slack.com", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await factory.DisposeAsync();

        var text = Traces();
        Assert.Contains("http://hooks.slack.com/commands/[redacted]", text);
        Assert.DoesNotContain(secret, text);
    }

    [Fact]
    public async Task OtlpEndpointConfigured_ExportsMetricsAndTracesOnShutdown()
    {
        await using var collector = await FakeOtlpCollector.StartAsync();
        var factory = new BotFactory(_database, new Dictionary<string, string?> { ["Telemetry:OtlpEndpoint"] = collector.Address.ToString() });
        var incidents = factory.Services.GetRequiredService<IncidentService>();
        await incidents.DeclareAsync(new DeclareRequest("Export me", Severity.Sev2), new Actor(new Person("chat", "U1", "Ann")), default);
        await factory.CreateClient().GetAsync(new Uri("/healthz", UriKind.Relative));

        await factory.DisposeAsync();

        Assert.Contains(collector.Exports, e => e.Path == "/v1/metrics" && e.Length > 0);
        Assert.Contains(collector.Exports, e => e.Path == "/v1/traces" && e.Length > 0);
    }
}
