using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Paging.Tests;

/// <summary>Each pager's requests against a fake of the real service over loopback HTTP.</summary>
public sealed class PagerContractTests : IAsyncLifetime
{
    private readonly PagerFixture<SqliteTestDatabase> _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private IPager Pager(string name) => _fixture.Services.GetServices<IPager>().Single(p => p.Name == name);

    private static PageMessage Message(PageAction action, string target = Pagers.PagerDuty) => new(
        action, PageTarget.Parse(target), new IncidentNumber(42), "Checkout is down", Severity.Sev1, 1, "declared at SEV1",
        Pagers.DedupKey(new IncidentNumber(42)), "incidentbot-7-trigger-1-0-123-x", DateTimeOffset.Parse("2026-11-22T03:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task OpsgeniePager_PointedAtJiraServiceManagement_CreatesAcknowledgesAndClosesThere()
    {
        await using var jsm = new FakeOpsgenie(FakeOpsgenie.JsmBasePath);
        await jsm.StartAsync();
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { ["Paging:Opsgenie:ApiUrl"] = jsm.ApiUrl.ToString() });
        var pager = services.GetServices<IPager>().Single(p => p.Name == Pagers.Opsgenie);

        await pager.SendAsync(Message(PageAction.Trigger, "opsgenie:team:Payments"), default);
        await pager.SendAsync(Message(PageAction.Acknowledge), default);
        await pager.SendAsync(Message(PageAction.Resolve), default);

        Assert.Equal(
            ["/jsm/ops/integration/v2/alerts", "/jsm/ops/integration/v2/alerts/incidentbot-INC-42/acknowledge", "/jsm/ops/integration/v2/alerts/incidentbot-INC-42/close"],
            jsm.Requests.Select(r => r.Path).ToArray());
        Assert.All(jsm.Requests, r => Assert.Equal($"GenieKey {FakeOpsgenie.ApiKey}", r.Headers["authorization"]));
        Assert.Equal(["team:Payments"], Assert.Single(jsm.Book.Notifications).Responders);
        Assert.Equal(FakeAlertStatus.Resolved, Assert.Single(jsm.Book.Alerts).Status);
        Assert.Empty(_fixture.Opsgenie.Requests);
    }

    [Fact]
    public async Task PagerDutyTrigger_TargetNamesAService_SentWithThatServicesRoutingKey()
    {
        const string payments = "P0123456789abcdef0123456789abcde";
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { ["Paging:PagerDuty:RoutingKeys:payments"] = payments });
        var pager = services.GetServices<IPager>().Single(p => p.Name == Pagers.PagerDuty);

        await pager.SendAsync(Message(PageAction.Trigger, "pagerduty:payments"), default);
        await pager.SendAsync(Message(PageAction.Trigger), default);
        await pager.SendAsync(Message(PageAction.Acknowledge, "pagerduty:payments"), default);

        Assert.Equal([payments, FakePagerDuty.RoutingKey, payments], _fixture.PagerDuty.Events.Select(e => (string)e["routing_key"]!).ToArray());
        Assert.Equal([payments, FakePagerDuty.RoutingKey], _fixture.PagerDuty.Book.Notifications.Select(n => n.Scope).ToArray());
        Assert.Equal(FakeAlertStatus.Acknowledged, _fixture.PagerDuty.Book.Alerts.Single(a => a.Scope == payments).Status);
        Assert.Equal(FakeAlertStatus.Triggered, _fixture.PagerDuty.Book.Alerts.Single(a => a.Scope == FakePagerDuty.RoutingKey).Status);
    }

    [Theory]
    [InlineData("opsgenie:team:Payments", "team", "name", "Payments")]
    [InlineData("opsgenie:user:ann@example.com", "user", "username", "ann@example.com")]
    [InlineData("opsgenie:escalation:Payments_escalation", "escalation", "name", "Payments_escalation")]
    [InlineData("opsgenie:schedule:Payments_schedule", "schedule", "name", "Payments_schedule")]
    public async Task OpsgenieCreate_TargetNamesAResponder_AlertIsRoutedToIt(string target, string type, string field, string who)
    {
        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger, target), default);

        var body = JsonNode.Parse(Assert.Single(_fixture.Opsgenie.Requests).Body)!.AsObject();
        var responder = Assert.Single(body["responders"]!.AsArray())!.AsObject();
        Assert.Equal(type, (string?)responder["type"]);
        Assert.Equal(who, (string?)responder[field]);
        Assert.Equal([$"{type}:{who}"], Assert.Single(_fixture.Opsgenie.Book.Notifications).Responders);
    }

    [Fact]
    public async Task OpsgenieCreate_PlainTarget_NoRespondersSoTheIntegrationRoutes()
    {
        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger), default);

        Assert.Null(JsonNode.Parse(Assert.Single(_fixture.Opsgenie.Requests).Body)!["responders"]);
    }

    [Fact]
    public async Task OpsgenieCreate_SameAliasWhileOpen_IsDeduplicatedAndNotifiesNobody()
    {
        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger), default);
        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger), default);

        Assert.Equal(2, _fixture.Opsgenie.Requests.Count);
        Assert.Single(_fixture.Opsgenie.Book.Notifications);
        Assert.Equal(["created", "deduplicated: INC-42 SEV1: Checkout is down"], Assert.Single(_fixture.Opsgenie.Book.Alerts).Log);
    }

    [Fact]
    public async Task PagerDutyTrigger_Sent_BodyFollowsEventsV2WithStableDedupKey()
    {
        await Pager(Pagers.PagerDuty).SendAsync(Message(PageAction.Trigger), default);

        var request = Assert.Single(_fixture.PagerDuty.Requests);
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/json", request.Headers["content-type"]);
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.Equal(FakePagerDuty.RoutingKey, (string?)body["routing_key"]);
        Assert.Equal("trigger", (string?)body["event_action"]);
        Assert.Equal("incidentbot-INC-42", (string?)body["dedup_key"]);
        var payload = body["payload"]!.AsObject();
        Assert.Equal("INC-42 SEV1: Checkout is down (declared at SEV1)", (string?)payload["summary"]);
        Assert.Equal("incidentbot", (string?)payload["source"]);
        Assert.Equal("critical", (string?)payload["severity"]);
        Assert.Equal("2026-11-22T03:00:00+00:00", (string?)payload["timestamp"]);
        Assert.Equal("1", (string?)payload["custom_details"]!["escalation_level"]);
    }

    [Theory]
    [InlineData(PageAction.Acknowledge, "acknowledge")]
    [InlineData(PageAction.Resolve, "resolve")]
    public async Task PagerDutyFollowUp_Sent_CarriesOnlyRoutingKeyActionAndDedupKey(PageAction action, string expected)
    {
        await Pager(Pagers.PagerDuty).SendAsync(Message(action), default);

        var body = JsonNode.Parse(Assert.Single(_fixture.PagerDuty.Requests).Body)!.AsObject();
        Assert.Equal(["routing_key", "event_action", "dedup_key"], body.Select(p => p.Key).ToArray());
        Assert.Equal(expected, (string?)body["event_action"]);
        Assert.Equal("incidentbot-INC-42", (string?)body["dedup_key"]);
    }

    [Fact]
    public async Task PagerDuty_429WithRetryAfter_RetriesAfterTheWait()
    {
        _fixture.PagerDuty.Script(new ScriptedResponse(429, """{"status":"throttled"}""", RetryAfter: "1"));

        await Pager(Pagers.PagerDuty).SendAsync(Message(PageAction.Trigger), default);

        var requests = _fixture.PagerDuty.Requests;
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].ReceivedAt - requests[0].ReceivedAt >= TimeSpan.FromMilliseconds(900), "the retry did not wait for Retry-After");
        Assert.Equal(requests[0].Body, requests[1].Body);
    }

    [Fact]
    public async Task PagerDuty_500ThenNetworkFine_RetriesUntilAccepted()
    {
        _fixture.PagerDuty.Script(new ScriptedResponse(500, "{}"), new ScriptedResponse(503, "{}"));

        await Pager(Pagers.PagerDuty).SendAsync(Message(PageAction.Trigger), default);

        Assert.Equal(3, _fixture.PagerDuty.Requests.Count);
    }

    [Fact]
    public async Task PagerDuty_400_FailsWithoutRetry()
    {
        _fixture.PagerDuty.Script(new ScriptedResponse(400, """{"status":"invalid event","message":"Event object is invalid","errors":["'payload.summary' is missing"]}"""));

        var failure = await Assert.ThrowsAsync<PageFailedException>(() => Pager(Pagers.PagerDuty).SendAsync(Message(PageAction.Trigger), default));

        Assert.Single(_fixture.PagerDuty.Requests);
        Assert.Contains("400", failure.Message);
        Assert.Contains("payload.summary", failure.Message);
    }

    [Fact]
    public async Task PagerDuty_AlwaysFailing_GivesUpAfterMaxAttempts()
    {
        _fixture.PagerDuty.Script(Enumerable.Repeat(new ScriptedResponse(500, "{}"), 10).ToArray());

        var failure = await Assert.ThrowsAsync<PageFailedException>(() => Pager(Pagers.PagerDuty).SendAsync(Message(PageAction.Trigger), default));

        Assert.Equal(4, _fixture.PagerDuty.Requests.Count);
        Assert.Contains("gave up after 4 tries", failure.Message);
    }

    [Fact]
    public async Task PagerDuty_Unreachable_RetriesThenFails()
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { ["Paging:PagerDuty:EventsUrl"] = "http://127.0.0.1:9/v2/enqueue" });
        var pager = services.GetServices<IPager>().Single(p => p.Name == Pagers.PagerDuty);

        var failure = await Assert.ThrowsAsync<PageFailedException>(() => pager.SendAsync(Message(PageAction.Trigger), default));

        Assert.Contains("unreachable", failure.Message);
    }

    [Fact]
    public async Task OpsgenieCreate_Sent_PostsAlertWithAliasAndGenieKey()
    {
        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger), default);

        var request = Assert.Single(_fixture.Opsgenie.Requests);
        Assert.Equal("/v2/alerts", request.Path);
        Assert.Equal($"GenieKey {FakeOpsgenie.ApiKey}", request.Headers["authorization"]);
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.Equal("INC-42 SEV1: Checkout is down", (string?)body["message"]);
        Assert.Equal("incidentbot-INC-42", (string?)body["alias"]);
        Assert.Equal("P1", (string?)body["priority"]);
        Assert.Equal("IncidentBot", (string?)body["source"]);
    }

    [Theory]
    [InlineData(PageAction.Acknowledge, "/v2/alerts/incidentbot-INC-42/acknowledge")]
    [InlineData(PageAction.Resolve, "/v2/alerts/incidentbot-INC-42/close")]
    public async Task OpsgenieFollowUp_Sent_PostsToAliasEndpoint(PageAction action, string path)
    {
        await Pager(Pagers.Opsgenie).SendAsync(Message(action), default);

        var request = Assert.Single(_fixture.Opsgenie.Requests);
        Assert.Equal(path, request.Path);
        Assert.Equal("?identifierType=alias", request.Query);
        Assert.Equal("IncidentBot", (string?)JsonNode.Parse(request.Body)!["source"]);
    }

    [Fact]
    public async Task Opsgenie_429Then500_RetriesUntilAccepted()
    {
        _fixture.Opsgenie.Script(new ScriptedResponse(429, "{}", RetryAfter: "0"), new ScriptedResponse(500, "{}"));

        await Pager(Pagers.Opsgenie).SendAsync(Message(PageAction.Trigger), default);

        Assert.Equal(3, _fixture.Opsgenie.Requests.Count);
    }

    [Fact]
    public async Task Opsgenie_WrongKey_FailsWithoutRetry()
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { ["Paging:Opsgenie:ApiKey"] = "wrong" });
        var pager = services.GetServices<IPager>().Single(p => p.Name == Pagers.Opsgenie);

        var failure = await Assert.ThrowsAsync<PageFailedException>(() => pager.SendAsync(Message(PageAction.Trigger), default));

        Assert.Single(_fixture.Opsgenie.Requests);
        Assert.Contains("401", failure.Message);
    }

    [Fact]
    public async Task Webhook_Sent_SignatureVerifiesWithStandardWebhooks()
    {
        await Pager(Pagers.Webhook).SendAsync(Message(PageAction.Trigger), default);

        var request = Assert.Single(_fixture.Webhook.Requests);
        Assert.Equal("incidentbot-7-trigger-1-0-123-x", request.Headers["webhook-id"]);
        Assert.True(StandardWebhooksVerifier.Verify(WebhookReceiver.Secret, request.Headers, request.Body, DateTimeOffset.UtcNow));
        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.Equal("incident.paged", (string?)body["type"]);
        Assert.Equal("INC-42", (string?)body["data"]!["incident"]);
        Assert.Equal("incidentbot-INC-42", (string?)body["data"]!["dedupKey"]);
    }

    [Fact]
    public async Task Webhook_TamperedBodyOrOtherSecret_DoesNotVerify()
    {
        await Pager(Pagers.Webhook).SendAsync(Message(PageAction.Resolve), default);

        var request = Assert.Single(_fixture.Webhook.Requests);
        Assert.False(StandardWebhooksVerifier.Verify(WebhookReceiver.Secret, request.Headers, request.Body.Replace("INC-42", "INC-43", StringComparison.Ordinal), DateTimeOffset.UtcNow));
        Assert.False(StandardWebhooksVerifier.Verify("whsec_" + Convert.ToBase64String(new byte[24]), request.Headers, request.Body, DateTimeOffset.UtcNow));
        Assert.False(StandardWebhooksVerifier.Verify(WebhookReceiver.Secret, request.Headers, request.Body, DateTimeOffset.UtcNow.AddMinutes(10)));
    }

    [Fact]
    public async Task Webhook_503_RetriesWithSameWebhookId()
    {
        _fixture.Webhook.Script(new ScriptedResponse((int)HttpStatusCode.ServiceUnavailable));

        await Pager(Pagers.Webhook).SendAsync(Message(PageAction.Trigger), default);

        var requests = _fixture.Webhook.Requests;
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].Headers["webhook-id"], requests[1].Headers["webhook-id"]);
        Assert.True(StandardWebhooksVerifier.Verify(WebhookReceiver.Secret, requests[1].Headers, requests[1].Body, DateTimeOffset.UtcNow));
    }
}
