using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// Acks and resolves made in PagerDuty and Opsgenie reach the incident through their webhooks, over real HTTP: the
/// host on Kestrel, the fakes posting to it signed (PagerDuty) or with the shared token (Opsgenie) as the real services do.
/// </summary>
public abstract class PagerWebhookTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private static readonly Actor Ann = new(new Person("chat", "U1", "Ann"), new ChatSpace("chat", "C-origin"));

    private readonly TDatabase _database = new();
    private readonly FakePagerDuty _pagerDuty = new();
    private readonly FakeOpsgenie _opsgenie = new();
    private readonly List<SchedulingHost> _hosts = [];

    public async Task InitializeAsync() => await Task.WhenAll(_database.InitializeAsync(), _pagerDuty.StartAsync(), _opsgenie.StartAsync());

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _pagerDuty.DisposeAsync();
        await _opsgenie.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>
    /// SEV1 pages level 1 (PagerDuty and Opsgenie) at once and level 2 (PagerDuty) after 2 s; both webhooks are
    /// configured and subscribed, the Opsgenie one with the token in a custom header.
    /// </summary>
    private SchedulingHost Start(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Reminders:Sev1"] = "00:10:00",
            ["Paging:RetryDelay"] = "00:00:00.050",
            ["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Paging:PagerDuty:WebhookSecret"] = FakePagerDuty.WebhookSecret,
            ["Paging:Opsgenie:ApiUrl"] = _opsgenie.BaseAddress.ToString(),
            ["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey,
            ["Paging:Opsgenie:WebhookToken"] = FakeOpsgenie.WebhookToken,
            ["Escalation:PageSeverities:0"] = "SEV1",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:0:Targets:1"] = "opsgenie",
            ["Escalation:Levels:0:Delay"] = "00:00:00",
            ["Escalation:Levels:1:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Delay"] = "00:00:02",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        var host = new SchedulingHost(_database, settings);
        _hosts.Add(host);
        var address = host.StartOnLoopback();
        _pagerDuty.Subscribe(new Uri(address, "/paging/pagerduty"));
        _opsgenie.AddWebhookIntegration(new Uri(address, "/paging/opsgenie"), new Dictionary<string, string> { ["X-IncidentBot-Token"] = FakeOpsgenie.WebhookToken });
        return host;
    }

    private static async Task<Incident> DeclarePagedAsync(SchedulingHost host, Severity severity = Severity.Sev1)
    {
        var incident = (await host.Incidents.DeclareAsync(new DeclareRequest("Checkout is down", severity), Ann, default)).Incident;
        if (severity == Severity.Sev1)
        {
            // Settled: both pages are sent and recorded, so later timeline entries come from what the test does.
            await WaitUntilAsync(async () => (await host.TimelineAsync(incident)).Count(e => e.Text.Contains("accepted the page", StringComparison.Ordinal)) == 2);
        }

        return incident;
    }

    private static string Key(Incident incident) => $"incidentbot-{incident.Number}";

    [Fact]
    public async Task PagerDutyAck_SignedWebhook_AcknowledgesStopsEscalationAndAcknowledgesTheOtherAlerts()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);

        var response = await _pagerDuty.AcknowledgeAsync(Key(incident), "Ann Oncall");

        Assert.True(response.IsSuccessStatusCode, $"answered {(int)response.StatusCode}");
        var acknowledged = await host.Store.GetAsync(incident.Number, default);
        Assert.NotNull(acknowledged!.AcknowledgedAt);
        Assert.NotNull(ResponseMetrics.Of(acknowledged).TimeToAcknowledge);
        Assert.Contains(await host.TimelineAsync(incident), e => e.Text == "Acknowledged in PagerDuty by Ann Oncall" && e.Author?.DisplayName == "Ann Oncall");
        var ack = Assert.Single(await host.Events.WaitForAsync<IncidentAcknowledged>(incident.Number));
        Assert.Equal(("PagerDuty", "Ann Oncall"), (ack.Event.Pager, ack.Event.Actor?.DisplayName));

        // As a chat ack does: the other alerts of the incident are acknowledged at their pagers, and escalation stops.
        await _opsgenie.WaitForAsync(1, r => r.Path.EndsWith("/acknowledge", StringComparison.Ordinal));
        await WaitUntilAsync(async () => await host.Services.GetRequiredService<IncidentTimers>().NextFireAsync(TimerKind.Escalation, incident.Id, default) is null);
        Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));
        Assert.Single(_pagerDuty.Events, e => (string?)e["event_action"] == "trigger");
    }

    [Fact]
    public async Task PagerDutyAck_LaterEscalationKey_AcknowledgesItsIncident()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);

        var response = await _pagerDuty.AcknowledgeAsync(Key(incident) + "-3", "Bo");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
    }

    [Theory]
    [InlineData("unsigned")]
    [InlineData("another secret")]
    [InlineData("not v1")]
    [InlineData("not hex")]
    [InlineData("garbage")]
    public async Task PagerDutyWebhook_BadSignature_401AndNothingHappens(string what)
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var payload = FakePagerDuty.IncidentEvent("incident.acknowledged", Key(incident), "Mallory");
        var signature = what switch
        {
            "unsigned" => "",
            "another secret" => FakePagerDuty.Signature(payload.ToJsonString(), "not-the-subscription-secret-0123456789abcdef"),
            "not v1" => FakePagerDuty.Signature(payload.ToJsonString(), FakePagerDuty.WebhookSecret).Replace("v1=", "v0=", StringComparison.Ordinal),
            "not hex" => "v1=zz" + new string('a', 62),
            _ => "signature please",
        };

        var response = await _pagerDuty.SendWebhookAsync(payload, signature);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("/paging/pagerduty", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PagerDutyWebhook_BodyChangedAfterSigning_401()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var signed = FakePagerDuty.IncidentEvent("incident.resolved", Key(incident), "Ann");
        var signature = FakePagerDuty.Signature(signed.ToJsonString(), FakePagerDuty.WebhookSecret);
        signed["event"]!["event_type"] = "incident.acknowledged";

        var response = await _pagerDuty.SendWebhookAsync(signed, signature);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
    }

    [Fact]
    public async Task PagerDutyWebhook_SecretBeingRotated_AcceptedWhenAnySignatureMatches()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var payload = FakePagerDuty.IncidentEvent("incident.acknowledged", Key(incident), "Ann");

        var response = await _pagerDuty.SendWebhookAsync(payload, FakePagerDuty.Signature(payload.ToJsonString(), "the-new-secret-not-yet-configured-0123456789", FakePagerDuty.WebhookSecret));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
    }

    [Theory]
    [InlineData(-49 * 60)]
    [InlineData(30)]
    public async Task PagerDutyWebhook_SignedButStale_401(int minutesFromNow)
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);

        var response = await _pagerDuty.SendWebhookAsync(FakePagerDuty.IncidentEvent("incident.acknowledged", Key(incident), "Ann", DateTimeOffset.UtcNow.AddMinutes(minutesFromNow)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("stale", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task PagerDutyWebhook_Replayed_SecondDeliveryHasNoEffect()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var resolved = FakePagerDuty.IncidentEvent("incident.resolved", Key(incident), "Ann");

        var first = await _pagerDuty.SendWebhookAsync(resolved);
        var second = await _pagerDuty.SendWebhookAsync(resolved);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Single(await host.TimelineAsync(incident), e => e.Text.Contains("resolved in PagerDuty by Ann", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PagerDutyResolve_ByDefault_RecordedAndTheIncidentStaysOpen()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);

        var response = await _pagerDuty.ResolveAsync(Key(incident), "Ann");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False((await host.Store.GetAsync(incident.Number, default))!.IsResolved);
        Assert.Contains(await host.TimelineAsync(incident), e => e.Text == $"Alert {Key(incident)} resolved in PagerDuty by Ann; the incident stays open");
    }

    [Fact]
    public async Task PagerDutyResolve_ResolveIncidentFromPagerOn_ResolvesTheIncidentAndTheOtherAlerts()
    {
        var host = Start(new() { ["Paging:ResolveIncidentFromPager"] = "true" });
        var incident = await DeclarePagedAsync(host);

        var response = await _pagerDuty.ResolveAsync(Key(incident), "Ann");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await host.Store.GetAsync(incident.Number, default))!.IsResolved);
        Assert.Contains(await host.TimelineAsync(incident), e => e.Kind == TimelineKind.Status && e.Text == "Incident resolved in PagerDuty by Ann");
        await _opsgenie.WaitForAsync(1, r => r.Path.EndsWith("/close", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Ignored => new()
    {
        { "incident.acknowledged", "checkout-monitor-7731" },
        { "incident.acknowledged", "incidentbot-INC-99" },
        { "incident.priority_updated", "incidentbot-INC-1" },
        { "incident.annotated", "incidentbot-INC-1" },
    };

    [Theory]
    [MemberData(nameof(Ignored))]
    public async Task PagerDutyWebhook_UnknownKeyIncidentOrType_2xxAndNothingDone(string eventType, string incidentKey)
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        // Only entries someone wrote: the escalation's own (no author) go on meanwhile, level 2 is due 2 s after the declare.
        var before = (await host.TimelineAsync(incident)).Count(e => e.Author is not null);

        var response = await _pagerDuty.SendWebhookAsync(FakePagerDuty.IncidentEvent(eventType, incidentKey, "Ann"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.Equal(before, (await host.TimelineAsync(incident)).Count(e => e.Author is not null));
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Message.Contains("PagerDuty", StringComparison.Ordinal) && r.Message.Contains("ignored", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task PagerDutyAck_AfterAChatAck_ChangesNothing()
    {
        // PagerDuty reports the bot's own acknowledge (sent when the incident was acked in chat) like any other.
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);
        var acknowledgedAt = (await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt;

        var response = await _pagerDuty.AcknowledgeAsync(Key(incident), "IncidentBot");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(acknowledgedAt, (await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.DoesNotContain(await host.TimelineAsync(incident), e => e.Text.Contains("in PagerDuty", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpsgenieAck_TokenInCustomHeader_AcknowledgesTheIncident()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);

        var response = await _opsgenie.AcknowledgeAsync(Key(incident), "ann@example.org");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.Contains(await host.TimelineAsync(incident), e => e.Text == "Acknowledged in Opsgenie by ann@example.org");
        await _pagerDuty.WaitForAsync(1, r => r.Body.Contains("\"acknowledge\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpsgenieAck_TokenAsBasicAuthPassword_AcknowledgesTheIncident()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var url = new UriBuilder(host.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First())
        {
            Path = "/paging/opsgenie",
            UserName = "opsgenie",
            Password = FakeOpsgenie.WebhookToken,
        }.Uri;
        _opsgenie.AddWebhookIntegration(url);

        var response = await _opsgenie.AcknowledgeAsync(Key(incident), "ann@example.org");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
    }

    [Theory]
    [InlineData("X-IncidentBot-Token", "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("X-IncidentBot-Token", "")]
    [InlineData("X-Other-Header", FakeOpsgenie.WebhookToken)]
    [InlineData("Authorization", "Basic b3BzZ2VuaWU6d3Jvbmc=")]
    public async Task OpsgenieWebhook_BadOrMissingToken_401AndNothingHappens(string header, string value)
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var url = new Uri(host.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());
        _opsgenie.AddWebhookIntegration(new Uri(url, "/paging/opsgenie"), new Dictionary<string, string> { [header] = value });

        var response = await _opsgenie.AcknowledgeAsync(Key(incident), "mallory@example.org");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("/paging/opsgenie", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpsgenieClose_ByDefault_RecordedOnceEvenWhenDeliveredTwice()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var close = FakeOpsgenie.AlertAction("Close", Key(incident), "ann@example.org");

        var first = await _opsgenie.SendWebhookAsync(close);
        var second = await _opsgenie.SendWebhookAsync(close);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.False((await host.Store.GetAsync(incident.Number, default))!.IsResolved);
        Assert.Single(await host.TimelineAsync(incident), e => e.Text == $"Alert {Key(incident)} resolved in Opsgenie by ann@example.org; the incident stays open");
    }

    [Fact]
    public async Task OpsgenieWebhook_OtherAction_2xxAndNothingDone()
    {
        var host = Start();
        var incident = await DeclarePagedAsync(host);
        var before = (await host.TimelineAsync(incident)).Count;

        var response = await _opsgenie.SendWebhookAsync(FakeOpsgenie.AlertAction("AddNote", Key(incident), "ann@example.org"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before, (await host.TimelineAsync(incident)).Count);
    }

    [Fact]
    public async Task Webhooks_NoSecretOrTokenConfigured_404()
    {
        var host = Start(new() { ["Paging:PagerDuty:WebhookSecret"] = "", ["Paging:Opsgenie:WebhookToken"] = "" });
        var incident = await DeclarePagedAsync(host);

        Assert.Equal(HttpStatusCode.NotFound, (await _pagerDuty.AcknowledgeAsync(Key(incident), "Ann")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _opsgenie.AcknowledgeAsync(Key(incident), "ann@example.org")).StatusCode);
    }

    [Fact]
    public async Task PagerDutyWebhook_MalformedButSigned_400()
    {
        var host = Start();

        var response = await _pagerDuty.SendWebhookAsync(new JsonObject { ["not"] = "an event" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true in time");
            await Task.Delay(50);
        }
    }
}

public sealed class SqlitePagerWebhookTests : PagerWebhookTests<SqliteTestDatabase>;

public sealed class PostgresPagerWebhookTests : PagerWebhookTests<PostgresTestDatabase>;
