using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>The overdue-update reminder in Teams, end to end: a card that @mentions the IC and comms lead and posts the update.</summary>
public sealed class ReminderCardTests : IAsyncLifetime
{
    private const string WarRoom = "19:warroom@thread.tacv2";

    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        _world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Reminders:Sev1"] = "00:00:02",
            ["Reminders:CommanderMissingAfter"] = "",
            ["Escalation:PageSeverities:0"] = "none",
        });
        _world.Connector.AddMember(TeamsWorld.Bo.Mri, TeamsWorld.Bo.AadObjectId, TeamsWorld.Bo.Name);
        _world.Connector.AddMember(TeamsWorld.Cy.Mri, TeamsWorld.Cy.AadObjectId, TeamsWorld.Cy.Name);
    }

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task Reminder_MentionsIcAndCommsAndItsButtonPostsTheUpdate()
    {
        var world = _world;
        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(world.Activities.Command(WarRoom, TeamsWorld.Ann, "declare sev1 Checkout is down"))).StatusCode);
        await world.PostAsync(world.Activities.Command(WarRoom, TeamsWorld.Ann, "role ic {0}", mentioned: TeamsWorld.Bo));
        await world.PostAsync(world.Activities.Command(WarRoom, TeamsWorld.Ann, "role comms {0}", mentioned: TeamsWorld.Cy));
        var incident = await world.IncidentAsync(1);
        Assert.Equal((TeamsWorld.Bo.AadObjectId, TeamsWorld.Cy.AadObjectId), (incident.RoleHolder(IncidentRole.Commander)?.UserId, incident.RoleHolder(IncidentRole.Comms)?.UserId));

        var calls = await world.Connector.WaitForAsync(
            c => c.Any(x => x.Operation == ConnectorOperation.Send && x.Card?.ToJsonString().Contains("a status update is overdue", StringComparison.Ordinal) == true),
            what: "the reminder card");
        var reminder = calls.First(x => x.Operation == ConnectorOperation.Send && x.Card?.ToJsonString().Contains("a status update is overdue", StringComparison.Ordinal) == true);
        var card = reminder.Card!;
        var entities = card["msteams"]!["entities"]!.AsArray();
        Assert.Equal(
            [(TeamsWorld.Bo.AadObjectId, "<at>Bo</at>"), (TeamsWorld.Cy.AadObjectId, "<at>Cy</at>")],
            entities.Select(e => ((string)e!["mentioned"]!["id"]!, (string)e["text"]!)).ToArray());
        Assert.Contains(card["body"]!.AsArray(), b => (string?)b?["text"] == "<at>Bo</at>, <at>Cy</at>: please post one here.");
        var button = card["body"]!.AsArray().Last()!["actions"]![0]!;
        Assert.Equal("Action.Execute", (string?)button["type"]);

        var data = button["data"]!.DeepClone().AsObject();
        data["text"] = "Failover done; error rate back to 0.1%";
        var answer = await world.PostInvokeAsync(world.Activities.CardAction(WarRoom, TeamsWorld.Cy, (string)button["verb"]!, data, reminder.ActivityId ?? "reminder"));

        Assert.Equal(IncidentCards.ContentType, (string?)answer["type"]);
        Assert.Contains("status update posted by Cy", answer["value"]!.ToJsonString(), StringComparison.Ordinal);
        var updated = await world.IncidentAsync(1);
        Assert.NotNull(updated.LastUpdateAt);
        Assert.Contains(await world.TimelineAsync(1), e => e.Kind == TimelineKind.Update && e.Text == "Failover done; error rate back to 0.1%" && e.Author?.DisplayName == "Cy");
    }

    [Fact]
    public async Task ReminderButton_EmptyUpdate_AnswersWithTheRuleNotACard()
    {
        var world = _world;
        await world.PostAsync(world.Activities.Command(WarRoom, TeamsWorld.Ann, "declare sev3 Slow search"));

        var answer = await world.PostInvokeAsync(world.Activities.CardAction(WarRoom, TeamsWorld.Ann, CardVerbs.ReminderUpdate,
            new JsonObject { ["verb"] = CardVerbs.ReminderUpdate, ["incident"] = "INC-1", ["text"] = "  " }, "reminder"));

        Assert.Equal("application/vnd.microsoft.activity.message", (string?)answer["type"]);
        Assert.Null((await world.IncidentAsync(1)).LastUpdateAt);
    }
}
