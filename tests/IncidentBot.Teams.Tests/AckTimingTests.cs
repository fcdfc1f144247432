using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.Teams.Tests;

/// <summary>The meter is process-wide, so this runs alone: no other test's requests land in the listener.</summary>
[CollectionDefinition(nameof(AckTimingMetrics), DisableParallelization = true)]
public sealed class AckTimingMetrics;

[Collection(nameof(AckTimingMetrics))]
public sealed class AckTimingTests
{
    [Fact]
    public async Task Messages_OneActivity_AckDurationRecordedOnce()
    {
        var recorded = new ConcurrentQueue<Dictionary<string, object?>>();
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
            var map = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(map.GetValueOrDefault("platform"), "teams"))
            {
                recorded.Enqueue(map);
            }
        });
        listener.Start();
        await using var world = await TeamsWorld.StartAsync();

        var response = await world.PostAsync(world.Activities.Message("19:ops@thread.tacv2", TeamsWorld.Ann, "hello"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tags = Assert.Single(recorded);
        Assert.Equal("/api/messages", tags["endpoint"]);
        Assert.Equal(200, tags["status"]);
    }
}
