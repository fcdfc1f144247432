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
