using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IncidentBot.Core.Telemetry;
using IncidentBot.Slack.WebApi;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Tests;

/// <summary>The meter is process-wide, so these run alone: no other test's Slack calls land in the listener.</summary>
[CollectionDefinition(nameof(OutboundCallMetrics), DisableParallelization = true)]
public sealed class OutboundCallMetrics;

/// <summary>Every Web API attempt is counted in <c>incidentbot.outbound.calls</c> with Slack's outcome.</summary>
[Collection(nameof(OutboundCallMetrics))]
public sealed class SlackApiTelemetryTests : IAsyncLifetime
{
    private const string Method = "conversations.setTopic";

    private readonly ConcurrentQueue<Dictionary<string, object?>> _recorded = new();
    private FakeSlackServer _slack = null!;
    private HttpClient _http = null!;
    private MeterListener _listener = null!;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _http = new HttpClient();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == "incidentbot.outbound.calls")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var map = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            if (Equals(map.GetValueOrDefault("platform"), "slack") && Equals(map.GetValueOrDefault("method"), Method))
            {
                Assert.Equal(1, value);
                _recorded.Enqueue(map);
            }
        });
        _listener.Start();
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        _http.Dispose();
        await _slack.DisposeAsync();
    }

    [Fact]
    public async Task Call_RateLimitedThenOk_RecordsRateLimitedThenOk()
    {
        var channel = _slack.AddChannel("room");
        _slack.Script(Method, SlackFault.RateLimited(retryAfterSeconds: 0));

        await Client().SetTopicAsync(channel.Id, "INC-1 · SEV1", default);

        Assert.Equal(2, _slack.CallsTo(Method).Count);
        Assert.Equal(["rate_limited", "ok"], Outcomes());
    }

    [Fact]
    public async Task Call_ServerErrorThenOkThenOkFalse_RecordsFailedOkError()
    {
        var channel = _slack.AddChannel("room");
        _slack.Script(Method, SlackFault.ServerError());

        await Client().SetTopicAsync(channel.Id, "INC-1", default);
        await Assert.ThrowsAsync<SlackApiException>(() => Client().SetTopicAsync("CNOPE", "INC-1", default));

        Assert.Equal(["failed", "ok", "error"], Outcomes());
    }

    [Fact]
    public async Task Call_RatelimitedInOkFalseBody_CountsAsRateLimited()
    {
        var channel = _slack.AddChannel("room");
        _slack.Script(Method, SlackFault.Fails("ratelimited"));

        await Client().SetTopicAsync(channel.Id, "INC-1", default);

        Assert.Equal(["rate_limited", "ok"], Outcomes());
    }

    private List<string?> Outcomes() => _recorded.Select(t => t["outcome"] as string).ToList();

    private SlackApiClient Client() => new(
        _http,
        Options.Create(new SlackOptions { BotToken = FakeSlackServer.BotToken, ApiBaseUrl = _slack.ApiBaseUrl.ToString(), ChannelPostInterval = TimeSpan.Zero }),
        new SlackRetryPipeline(TimeProvider.System, NullLogger<SlackRetryPipeline>.Instance),
        new ChannelPacer(TimeProvider.System),
        TimeProvider.System,
        NullLogger<SlackApiClient>.Instance);
}
