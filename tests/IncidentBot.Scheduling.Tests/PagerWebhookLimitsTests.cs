using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Core.Security;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using IncidentBot.TestKit.Telemetry;

namespace IncidentBot.Scheduling.Tests;

/// <summary>The refused-request counter is process-wide, so these run alone.</summary>
[CollectionDefinition(nameof(PagerWebhookRefusals), DisableParallelization = true)]
public sealed class PagerWebhookRefusals;

/// <summary>/paging/* is reachable by anyone: bounded reads, the failure limiter, and every refusal counted.</summary>
[Collection(nameof(PagerWebhookRefusals))]
public sealed class PagerWebhookLimitsTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private readonly FakePagerDuty _pagerDuty = new();
    private readonly FakeOpsgenie _opsgenie = new();
    private SchedulingHost _host = null!;
    private Uri _address = null!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_database.InitializeAsync(), _pagerDuty.StartAsync(), _opsgenie.StartAsync());
        _host = new SchedulingHost(_database, new Dictionary<string, string?>
        {
            ["Paging:PagerDuty:WebhookSecret"] = FakePagerDuty.WebhookSecret,
            ["Paging:Opsgenie:WebhookToken"] = FakeOpsgenie.WebhookToken,
        });
        _address = _host.StartOnLoopback();
        _pagerDuty.Subscribe(new Uri(_address, "/paging/pagerduty"));
        _opsgenie.AddWebhookIntegration(new Uri(_address, "/paging/opsgenie"), new Dictionary<string, string> { ["X-IncidentBot-Token"] = FakeOpsgenie.WebhookToken });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _pagerDuty.DisposeAsync();
        await _opsgenie.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Refusals_CountedByEndpointAndReason()
    {
        using var recorder = new RefusalRecorder();
        var ack = FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-1", "Ann");

        Assert.Equal(HttpStatusCode.Unauthorized, (await _pagerDuty.SendWebhookAsync(ack, "")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _pagerDuty.SendWebhookAsync(FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-1", "Ann", DateTimeOffset.UtcNow.AddDays(-3)))).StatusCode);
        _opsgenie.AddWebhookIntegration(new Uri(_address, "/paging/opsgenie"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _opsgenie.AcknowledgeAsync("incidentbot-INC-1", "ann@example.org")).StatusCode);

        Assert.Equal([("paging.pagerduty", "unauthenticated"), ("paging.pagerduty", "stale"), ("paging.opsgenie", "unauthenticated")], recorder.Refusals);
    }

    [Fact]
    public async Task PagerDuty_BodyOverTheLimit_413BeforeVerifying()
    {
        using var recorder = new RefusalRecorder();
        var huge = FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-1", "Ann");
        huge["event"]!["data"]!["title"] = new string('x', 300 * 1024);

        var response = await _pagerDuty.SendWebhookAsync(huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal([("paging.pagerduty", "too_large")], recorder.Refusals);
    }

    [Fact]
    public async Task Opsgenie_BodyOverTheLimit_413()
    {
        var huge = FakeOpsgenie.AlertAction("Acknowledge", "incidentbot-INC-1", "ann@example.org");
        huge["alert"]!["message"] = new string('x', 100 * 1024);

        var response = await _opsgenie.SendWebhookAsync(huge);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task RepeatedBadSignatures_429WithRetryAfterEvenForAGoodOne()
    {
        var ack = FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-1", "Ann");
        for (var i = 0; i < FailureLimiter.FailuresPerWindow; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await _pagerDuty.SendWebhookAsync(ack, "v1=" + new string('0', 64))).StatusCode);
        }

        var refused = await _pagerDuty.SendWebhookAsync(ack);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task NotJson_ButAuthenticated_400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_address, "/paging/opsgenie"))
        {
            Content = new StringContent("action=Acknowledge", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-IncidentBot-Token", FakeOpsgenie.WebhookToken);
        using var client = new HttpClient();

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _opsgenie.SendWebhookAsync(new JsonObject { ["alert"] = new JsonObject() })).StatusCode);
    }
}
