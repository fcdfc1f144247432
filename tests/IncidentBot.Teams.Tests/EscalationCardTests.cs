using System.Net;
using IncidentBot.TestKit.Paging;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>The escalation on the Teams incident card, end to end: who was paged under which key, the next level, then who acknowledged.</summary>
public sealed class EscalationCardTests : IAsyncLifetime
{
    private const string WarRoom = "19:warroom@thread.tacv2";

    private readonly FakePagerDuty _pagerDuty = new();
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _pagerDuty.StartAsync();
        _world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Reminders:CommanderMissingAfter"] = "",
            ["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Escalation:PageSeverities:0"] = "SEV1",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Delay"] = "01:00:00",
        });
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _pagerDuty.DisposeAsync();
    }

    [Fact]
    public async Task IncidentCard_ShowsThePageItsKeyAndTheNextLevel_ThenWhoAcknowledged()
    {
        Assert.Equal(HttpStatusCode.OK, (await _world.PostAsync(_world.Activities.Command(WarRoom, TeamsWorld.Ann, "declare sev1 Checkout is down"))).StatusCode);

        var paged = await _world.Connector.WaitForAsync(
            c => c.Any(x => x.Card?.ToJsonString() is { } json && json.Contains("incidentbot-INC-1", StringComparison.Ordinal) && json.Contains("sent", StringComparison.Ordinal) && json.Contains("Next: level 2 (pagerduty)", StringComparison.Ordinal)),
            what: "the card with the page and the next level");
        // (ToJsonString escapes the middle dot.)
        Assert.Contains(paged, x => x.Card?.ToJsonString().Contains("Level 1 \\u00B7 pagerduty", StringComparison.Ordinal) == true);

        await _world.PostAsync(_world.Activities.Command(WarRoom, TeamsWorld.Ann, "ack"));

        var acked = await _world.Connector.WaitForAsync(
            c => c.Any(x => x.Card?.ToJsonString().Contains("acknowledged the incident", StringComparison.Ordinal) == true),
            what: "the card with the ack");
        var card = acked.Last(x => x.Card?.ToJsonString().Contains("acknowledged the incident", StringComparison.Ordinal) == true).Card!.ToJsonString();
        Assert.DoesNotContain("Next: level", card, StringComparison.Ordinal);
        Assert.Contains("incidentbot-INC-1", card, StringComparison.Ordinal);
    }
}
