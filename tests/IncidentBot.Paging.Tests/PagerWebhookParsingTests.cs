using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging.Inbound;
using IncidentBot.TestKit.Paging;
using Microsoft.AspNetCore.Http;

namespace IncidentBot.Paging.Tests;

/// <summary>What the pager webhooks are checked and read for: PagerDuty's signatures, Opsgenie's token, the payloads, our alert keys.</summary>
public sealed class PagerWebhookParsingTests
{
    private const string Secret = FakePagerDuty.WebhookSecret;

    private static readonly byte[] Body = Encoding.UTF8.GetBytes(FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-42", "Ann").ToJsonString());

    [Theory]
    [InlineData("incidentbot-INC-42", 42)]
    [InlineData("incidentbot-INC-42-2", 42)]
    [InlineData("incidentbot-INC-7-13", 7)]
    public void AlertKeys_OursIncludingLaterEscalations_NameTheIncident(string key, int expected)
    {
        Assert.True(AlertKeys.TryParseIncident(key, out var number));
        Assert.Equal(new IncidentNumber(expected), number);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("d3640fbd41094207a1c11e58e46b1662")]
    [InlineData("incidentbot-INC-")]
    [InlineData("incidentbot-INC-0")]
    [InlineData("incidentbot-INC-042")]
    [InlineData("incidentbot-INC-42-1")]
    [InlineData("incidentbot-INC-42-x")]
    [InlineData("incidentbot-INC-42-2-3")]
    [InlineData("incidentbot-inc-42")]
    [InlineData("otherbot-INC-42")]
    public void AlertKeys_NotOurs_Rejected(string? key) => Assert.False(AlertKeys.TryParseIncident(key, out _));

    [Fact]
    public void PagerDutySignature_AsPagerDutySigns_Accepted() =>
        Assert.True(PagerDutyWebhook.IsSigned(Secret, FakePagerDuty.Signature(Encoding.UTF8.GetString(Body), Secret), Body));

    [Fact]
    public void PagerDutySignature_OneOfSeveralDuringRotation_Accepted()
    {
        var header = FakePagerDuty.Signature(Encoding.UTF8.GetString(Body), "the-old-secret-0123456789abcdef", Secret, "another-one-0123456789abcdef");

        Assert.True(PagerDutyWebhook.IsSigned(Secret, header, Body));
        Assert.True(PagerDutyWebhook.IsSigned(Secret, header.Replace(",", " , ", StringComparison.Ordinal), Body));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=")]
    [InlineData("v1=00")]
    public void PagerDutySignature_MissingOrEmpty_Refused(string? header) => Assert.False(PagerDutyWebhook.IsSigned(Secret, header, Body));

    [Fact]
    public void PagerDutySignature_WrongSecretVersionOrBody_Refused()
    {
        var text = Encoding.UTF8.GetString(Body);
        var good = FakePagerDuty.Signature(text, Secret);

        Assert.False(PagerDutyWebhook.IsSigned(Secret, FakePagerDuty.Signature(text, "not-the-secret-0123456789abcdef"), Body));
        Assert.False(PagerDutyWebhook.IsSigned(Secret, good.Replace("v1=", "v2=", StringComparison.Ordinal), Body));
        Assert.False(PagerDutyWebhook.IsSigned(Secret, good, Encoding.UTF8.GetBytes(text.Replace("Ann", "Bob", StringComparison.Ordinal))));
    }

    [Fact]
    public void PagerDutyParse_IncidentAcknowledged_ReadsKeyAgentAndTime()
    {
        var at = new DateTimeOffset(2026, 3, 1, 12, 30, 15, 250, TimeSpan.Zero);
        var payload = FakePagerDuty.IncidentEvent("incident.acknowledged", "incidentbot-INC-42-2", "Ann Oncall", at, "01DEN4HPBQAAAG05V5QQYBRZMF");

        var parsed = PagerDutyWebhook.Parse(Encoding.UTF8.GetBytes(payload.ToJsonString()));

        Assert.Equal(new PagerWebhookEvent("PagerDuty", "01DEN4HPBQAAAG05V5QQYBRZMF", "incident.acknowledged", PagerAlertChange.Acknowledged,
            "incidentbot-INC-42-2", new Person(Pagers.PagerDuty, "PLH1HKV", "Ann Oncall"), at), parsed);
    }

    [Fact]
    public void PagerDutyParse_NoAgentOrOtherType_StillRead()
    {
        var parsed = PagerDutyWebhook.Parse(Encoding.UTF8.GetBytes(FakePagerDuty.IncidentEvent("incident.priority_updated", "incidentbot-INC-1", null).ToJsonString()));

        Assert.Equal(PagerAlertChange.Other, parsed.Change);
        Assert.Null(parsed.By);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("not json")]
    [InlineData("""{"messages":[]}""")]
    [InlineData("""{"event":{"event_type":"incident.acknowledged","occurred_at":"2026-03-01T12:00:00Z"}}""")]
    [InlineData("""{"event":{"id":"E1","occurred_at":"2026-03-01T12:00:00Z"}}""")]
    [InlineData("""{"event":{"id":"E1","event_type":"incident.acknowledged","occurred_at":"yesterday"}}""")]
    public void PagerDutyParse_NotAV3Event_Throws(string body) =>
        Assert.Throws<PagerPayloadException>(() => PagerDutyWebhook.Parse(Encoding.UTF8.GetBytes(body)));

    [Theory]
    [InlineData("X-IncidentBot-Token", FakeOpsgenie.WebhookToken, true)]
    [InlineData("Authorization", "Bearer " + FakeOpsgenie.WebhookToken, true)]
    [InlineData("X-IncidentBot-Token", FakeOpsgenie.WebhookToken + "0", false)]
    [InlineData("X-IncidentBot-Token", "", false)]
    [InlineData("Authorization", "Bearer", false)]
    [InlineData("Authorization", "Basic !!!", false)]
    [InlineData("X-Token", FakeOpsgenie.WebhookToken, false)]
    public void OpsgenieToken_WhereItMayTravel_CheckedExactly(string header, string value, bool expected)
    {
        var headers = new HeaderDictionary { [header] = value };

        Assert.Equal(expected, OpsgenieWebhook.IsAuthorized(FakeOpsgenie.WebhookToken, headers));
    }

    [Theory]
    [InlineData("opsgenie:" + FakeOpsgenie.WebhookToken, true)]
    [InlineData(":" + FakeOpsgenie.WebhookToken, true)]
    [InlineData(FakeOpsgenie.WebhookToken + ":x", false)]
    [InlineData(FakeOpsgenie.WebhookToken, false)]
    public void OpsgenieToken_BasicAuth_IsThePassword(string credentials, bool expected)
    {
        var headers = new HeaderDictionary { ["Authorization"] = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)) };

        Assert.Equal(expected, OpsgenieWebhook.IsAuthorized(FakeOpsgenie.WebhookToken, headers));
    }

    [Fact]
    public void OpsgenieParse_Acknowledge_ReadsAliasUserAndUpdateTime()
    {
        var payload = FakeOpsgenie.AlertAction("Acknowledge", "incidentbot-INC-42", "ann@example.org", "052652ac-5d1c-464a-812a-7dd18bbfba8c", 1420452224764002246);

        var parsed = OpsgenieWebhook.Parse(Encoding.UTF8.GetBytes(payload.ToJsonString()), DateTimeOffset.UnixEpoch);

        Assert.Equal(PagerAlertChange.Acknowledged, parsed.Change);
        Assert.Equal("incidentbot-INC-42", parsed.AlertKey);
        Assert.Equal("ann@example.org", parsed.By?.DisplayName);
        Assert.Equal("052652ac-5d1c-464a-812a-7dd18bbfba8c:Acknowledge:1420452224764002246", parsed.EventId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1420452224764).AddTicks(22), parsed.OccurredAt);
    }

    [Theory]
    [InlineData("Close", PagerAlertChange.Resolved)]
    [InlineData("UnAcknowledge", PagerAlertChange.Other)]
    [InlineData("AddNote", PagerAlertChange.Other)]
    [InlineData("Create", PagerAlertChange.Other)]
    public void OpsgenieParse_Actions_MappedToChanges(string action, PagerAlertChange expected) =>
        Assert.Equal(expected, OpsgenieWebhook.Parse(Encoding.UTF8.GetBytes(FakeOpsgenie.AlertAction(action, "a", "u").ToJsonString()), DateTimeOffset.UtcNow).Change);

    [Fact]
    public void OpsgenieParse_NoAlertId_ReplayKeyIsTheBody()
    {
        var payload = FakeOpsgenie.AlertAction("Close", "incidentbot-INC-1", "ann@example.org");
        payload["alert"]!.AsObject().Remove("alertId");
        var body = Encoding.UTF8.GetBytes(payload.ToJsonString());

        Assert.Equal(OpsgenieWebhook.Parse(body, DateTimeOffset.UtcNow).EventId, OpsgenieWebhook.Parse(body, DateTimeOffset.UtcNow).EventId);
        Assert.Equal(64, OpsgenieWebhook.Parse(body, DateTimeOffset.UtcNow).EventId.Length);
    }

    [Theory]
    [InlineData("""{"alert":{}}""")]
    [InlineData("""{"action":"Acknowledge"}""")]
    [InlineData("""{"action":"Acknowledge","alert":"x"}""")]
    public void OpsgenieParse_NotAlertActionData_Throws(string body) =>
        Assert.Throws<PagerPayloadException>(() => OpsgenieWebhook.Parse(Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow));

    [Fact]
    public void FakeOpsgenie_AlertAction_IsTheDocumentedShape()
    {
        var payload = FakeOpsgenie.AlertAction("Acknowledge", "alias-1", "ann@example.org");

        Assert.Equal("Acknowledge", (string?)payload["action"]);
        Assert.IsType<JsonObject>(payload["source"]);
        Assert.Equal("alias-1", (string?)payload["alert"]!["alias"]);
    }
}
