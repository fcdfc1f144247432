using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// What reaches a Slack war room from the clock and from the pager: the overdue-update reminder (mentions and a
/// "Post update" button that posts through the update form), and an ack made in PagerDuty (the card and the room).
/// </summary>
public sealed class ReminderAndPagerTests : IAsyncLifetime
{
    private const string Ann = "UANN00001";
    private const string Bob = "UBOB00001";

    private readonly SqliteTestDatabase _database = new();
    private readonly FakePagerDuty _pagerDuty = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_database.InitializeAsync(), _pagerDuty.StartAsync());
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _slack.AddUser(Ann, "ann");
        _slack.AddUser(Bob, "bob");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _pagerDuty.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Reminder_MentionsTheRolesAndItsButtonPostsAnUpdate()
    {
        await using var host = SlackHost.Start(_database, _slack, extra: new Dictionary<string, string?>
        {
            ["Reminders:Sev2"] = "00:00:02",
            ["Reminders:CommanderMissingAfter"] = "",
        });
        var room = await DeclareAsync(host, "declare sev2 Slow builds");
        await host.Transport.CommandAsync(SlackPayloads.Command($"role ic <@{Bob}>", Ann, "ann", room));
        await host.Transport.CommandAsync(SlackPayloads.Command("role comms me", Ann, "ann", room));

        FakeMessage? reminder = null;
        await FakeSlackServer.WaitUntilAsync(
            () => (reminder = _slack.Channels[room].Messages.Values.FirstOrDefault(m => m.Text.Contains("A status update for INC-1 is due", StringComparison.Ordinal))) is not null,
            "the reminder");
        Assert.Contains($"<@{Bob}> <@{Ann}>, please post one", reminder!.Text, StringComparison.Ordinal);
        var actions = reminder.Blocks!.Single(b => (string?)b!["type"] == "actions")!;
        var button = actions["elements"]![0]!;
        Assert.Equal(("Post update", SlackIds.PostUpdateAction, "INC-1"), ((string?)button["text"]!["text"], (string?)button["action_id"], (string?)button["value"]));

        await host.Transport.InteractionAsync(SlackPayloads.BlockAction(Bob, "bob", room, (string)actions["block_id"]!, SlackPayloads.ButtonAction(SlackIds.PostUpdateAction, (string)button["value"]!)));
        var view = (JsonObject)Assert.Single(_slack.CallsTo("views.open")).Args["view"]!;
        Assert.Equal(SlackIds.UpdateView, (string?)view["callback_id"]);
        var values = new JsonObject { ["update"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "Cache warmed; builds back to 4 min" } } };
        await host.Transport.InteractionAsync(SlackPayloads.ViewSubmission(Bob, "bob", SlackIds.UpdateView, (string)view["private_metadata"]!, values));

        var incident = await host.WaitForIncidentAsync(new IncidentNumber(1), i => i.LastUpdateAt is not null, "the update");
        var timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        Assert.Contains(timeline, e => e.Kind == TimelineKind.Update && e.Text == "Cache warmed; builds back to 4 min" && e.Author?.UserId == Bob);
    }

    [Fact]
    public async Task PagerDutyAck_UpdatesTheCardAndTellsTheWarRoom()
    {
        await using var host = SlackHost.Start(_database, _slack, kestrel: true, extra: new Dictionary<string, string?>
        {
            ["Paging:PagerDuty:WebhookSecret"] = FakePagerDuty.WebhookSecret,
            ["Reminders:CommanderMissingAfter"] = "",
        });
        _pagerDuty.Subscribe(new Uri(host.Client.BaseAddress!, "/paging/pagerduty"));
        var room = await DeclareAsync(host, "declare sev3 Checkout errors");
        FakeMessage? card = null;
        await FakeSlackServer.WaitUntilAsync(() => (card = _slack.Channels[room].Messages.Values.FirstOrDefault(m => m.Blocks?.ToJsonString().Contains(SlackIds.AcknowledgeAction, StringComparison.Ordinal) == true)) is not null, "the card");

        var response = await _pagerDuty.AcknowledgeAsync("incidentbot-INC-1", "Ann Oncall");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Values.Any(m => m.Text.Contains("INC-1 acknowledged in PagerDuty by Ann Oncall; escalation stopped", StringComparison.Ordinal)), "the war-room post");
        await FakeSlackServer.WaitUntilAsync(() => _slack.CallsTo("chat.update").Any(c => (string?)c.Args["ts"] == card!.Ts), "the card update");
        var blocks = card!.Blocks!.ToJsonString();
        Assert.DoesNotContain(SlackIds.AcknowledgeAction, blocks, StringComparison.Ordinal);
        Assert.DoesNotContain("not yet", blocks, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Card_ShowsWhoWasPagedUnderWhichKey_TheNextLevel_ThenWhoAcknowledged()
    {
        await using var host = SlackHost.Start(_database, _slack, extra: new Dictionary<string, string?>
        {
            ["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Escalation:PageSeverities:0"] = "SEV1",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Delay"] = "01:00:00",
            ["Reminders:CommanderMissingAfter"] = "",
        });
        var room = await DeclareAsync(host, "declare sev1 Checkout is down");
        FakeMessage? card = null;
        await FakeSlackServer.WaitUntilAsync(
            () => (card = _slack.Channels[room].Messages.Values.FirstOrDefault(m => m.Blocks?.ToJsonString().Contains(SlackIds.AcknowledgeAction, StringComparison.Ordinal) == true)) is not null
                && card.Blocks!.ToJsonString().Contains("Next: level 2 (pagerduty)", StringComparison.Ordinal),
            "the card with the escalation");

        var escalation = EscalationText(card!);
        Assert.Contains("Level 1 · pagerduty · `incidentbot-INC-1` · sent", escalation, StringComparison.Ordinal);
        Assert.Null(BlockKitLimits.CheckMessageBlocks(card!.Blocks));

        await host.Transport.CommandAsync(SlackPayloads.Command("ack", Ann, "ann", room));

        await FakeSlackServer.WaitUntilAsync(() => EscalationText(card!).Contains("acknowledged the incident", StringComparison.Ordinal), "the card with the ack");
        Assert.DoesNotContain("Next:", EscalationText(card!), StringComparison.Ordinal);
        Assert.Contains("`incidentbot-INC-1`", EscalationText(card!), StringComparison.Ordinal);
    }

    private static string EscalationText(FakeMessage card) =>
        card.Blocks!.Select(b => (string?)b!["text"]?["text"]).FirstOrDefault(t => t?.StartsWith("*Escalation*", StringComparison.Ordinal) == true) ?? "";

    private async Task<string> DeclareAsync(SlackHost host, string text)
    {
        await host.Transport.CommandAsync(SlackPayloads.Command(text, Ann, "ann", _general.Id));
        var incident = await host.WaitForIncidentAsync(new IncidentNumber(1), i => i.WarRooms.Count > 0, "the war room");
        return incident.WarRooms.Single().Channel;
    }
}
