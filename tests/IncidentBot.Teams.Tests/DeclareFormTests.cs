using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// The declare form, as Slack's declare modal: title, severity, description, commander and responders (people pickers),
/// submitted through the fake Bot Connector over real HTTP; invalid submissions come back as the form with the error.
/// </summary>
public sealed class DeclareFormTests : IAsyncLifetime
{
    private const string IncidentsChannel = "19:incidents@thread.tacv2";
    private const string OpsChannel = "19:ops@thread.tacv2";

    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        _world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?> { ["Teams:IncidentsChannelId"] = IncidentsChannel });
        _world.Connector.AddMember(TeamsWorld.Ann.Mri, TeamsWorld.Ann.AadObjectId, TeamsWorld.Ann.Name);
        _world.Connector.AddMember(TeamsWorld.Bo.Mri, TeamsWorld.Bo.AadObjectId, TeamsWorld.Bo.Name);
        _world.Connector.AddMember(TeamsWorld.Cy.Mri, TeamsWorld.Cy.AadObjectId, TeamsWorld.Cy.Name);
    }

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public void DeclareForm_AsksWhatSlacksModalAsks_WithPeoplePickers()
    {
        var inputs = IncidentCards.DeclareForm()["body"]!.AsArray().Select(b => b!.AsObject()).Where(b => ((string?)b["type"])!.StartsWith("Input.", StringComparison.Ordinal))
            .ToDictionary(b => (string)b["id"]!);

        Assert.Equal(["title", "severity", "description", "commander", "responders", "private"], inputs.Keys);
        Assert.Equal("Input.Toggle", (string?)inputs["private"]["type"]);
        Assert.Equal("false", (string?)inputs["private"]["value"]);
        Assert.True((bool?)inputs["title"]["isRequired"]);
        Assert.True((bool?)inputs["description"]["isMultiline"]);
        foreach (var picker in new[] { inputs["commander"], inputs["responders"] })
        {
            Assert.Equal("Input.ChoiceSet", (string?)picker["type"]);
            Assert.Equal("Data.Query", (string?)picker["choices.data"]!["type"]);
            Assert.Equal("graph.microsoft.com/users", (string?)picker["choices.data"]!["dataset"]);
        }

        Assert.Null(inputs["commander"]["isMultiSelect"]);
        Assert.True((bool?)inputs["responders"]["isMultiSelect"]);
    }

    [Fact]
    public async Task Submit_EveryField_DeclaresWithCommanderAndResponders()
    {
        var submit = _world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "declare", new JsonObject
        {
            ["verb"] = "declare",
            ["title"] = "Payments failing",
            ["severity"] = "sev1",
            ["description"] = "Card payments time out at the gateway",
            ["commander"] = TeamsWorld.Bo.AadObjectId,
            ["responders"] = $"{TeamsWorld.Cy.AadObjectId},{TeamsWorld.Ann.AadObjectId}",
        }, "form-activity");

        var answer = await _world.PostInvokeAsync(submit);

        Assert.Equal(IncidentCards.ContentType, (string?)answer["type"]);
        Assert.Contains("Payments failing", answer["value"]!.ToJsonString(), StringComparison.Ordinal);
        var incident = await _world.IncidentAsync(1);
        Assert.Equal(("Payments failing", Severity.Sev1, "Card payments time out at the gateway"), (incident.Title, incident.Severity, incident.Description));
        Assert.Equal(new Person("teams", TeamsWorld.Bo.AadObjectId, "Bo"), incident.RoleHolder(IncidentRole.Commander));
        Assert.Contains(await _world.TimelineAsync(1), e => e.Kind == TimelineKind.Role && e.Text == "Bo is Incident commander");

        // The declaration is answered in the conversation, @mentioning the commander and the responders so Teams notifies them.
        var calls = await _world.Connector.WaitForAsync(c => c.Any(x => x.ActivityId == (string?)submit["id"] && x.Text?.Contains("INC-1 declared", StringComparison.Ordinal) == true),
            what: "the declaration answered in the conversation");
        var declared = calls.Single(x => x.ActivityId == (string?)submit["id"] && x.Text?.Contains("INC-1 declared", StringComparison.Ordinal) == true);
        Assert.Contains("Responders: <at>Cy</at>, <at>Ann</at>", declared.Text, StringComparison.Ordinal);
        var mentioned = declared.Body!["entities"]!.AsArray().Select(e => (string?)e!["mentioned"]!["id"]).ToList();
        Assert.Equal([TeamsWorld.Bo.AadObjectId, TeamsWorld.Cy.AadObjectId, TeamsWorld.Ann.AadObjectId], mentioned);

        // The war room opens as a thread in the incidents channel, as for a typed declare.
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the war-room thread");
    }

    [Theory]
    [InlineData("", "sev2", "Give the incident a title.")]
    [InlineData("Payments failing", "sev9", "Unknown severity 'sev9'")]
    public async Task Submit_Invalid_FormComesBackWithTheErrorAndNoIncident(string title, string severity, string error)
    {
        var answer = await _world.PostInvokeAsync(_world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "declare", new JsonObject
        {
            ["verb"] = "declare",
            ["title"] = title,
            ["severity"] = severity,
            ["description"] = "kept as typed",
            ["commander"] = TeamsWorld.Bo.AadObjectId,
        }, "form-activity"));

        Assert.Equal(IncidentCards.ContentType, (string?)answer["type"]);
        var form = answer["value"]!.AsObject();
        Assert.Contains(form["body"]!.AsArray(), b => ((string?)b!["text"])?.Contains(error, StringComparison.Ordinal) == true);
        Assert.Contains(form["body"]!.AsArray(), b => (string?)b!["id"] == "description" && (string?)b["value"] == "kept as typed");
        Assert.Contains(form["body"]!.AsArray(), b => (string?)b!["id"] == "commander" && (string?)b["value"] == TeamsWorld.Bo.AadObjectId);
        Assert.Empty(await _world.Store.ListAsync(new IncidentQuery(), default));
        Assert.Contains(_world.Logs.GetSnapshot(), r => r.Message.Contains("declare form refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_FromOldClientWithoutTitle_AnsweredWithTheError()
    {
        var submit = _world.Activities.Base("message", OpsChannel, TeamsWorld.Ann);
        submit["value"] = new JsonObject { ["verb"] = "declare", ["title"] = " ", ["severity"] = "sev2" };
        submit["replyToId"] = "form-activity";

        Assert.True((await _world.PostAsync(submit)).IsSuccessStatusCode);

        await _world.Connector.WaitForAsync(c => c.Any(x => x.ActivityId == (string?)submit["id"] && x.Text?.Contains("Give the incident a title.", StringComparison.Ordinal) == true),
            what: "the error answered in the conversation");
        Assert.Empty(await _world.Store.ListAsync(new IncidentQuery(), default));
    }
}
