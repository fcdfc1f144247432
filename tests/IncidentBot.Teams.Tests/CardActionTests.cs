using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Inbound;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// Card actions read into typed <see cref="CardAction"/>s: what the card sends works however it is spelled, and a payload
/// that cannot be done is answered with a message that says why (and logged), never a 500 or a half-done change.
/// </summary>
public sealed class CardActionTests : IAsyncLifetime
{
    private const string Room = "19:warroom@thread.v2";
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        // No incidents channel: the conversation it is declared in is the war room.
        _world = await TeamsWorld.StartAsync();
        _world.Connector.AddMember(TeamsWorld.Bo.Mri, TeamsWorld.Bo.AadObjectId, TeamsWorld.Bo.Name);
        await _world.PostAsync(_world.Activities.Command(Room, TeamsWorld.Ann, "declare sev2 Checkout is down", "groupChat"));
        Assert.Single((await _world.IncidentAsync(1)).WarRooms);
    }

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task CardAction_IncidentAsPlainNumber_Acknowledges()
    {
        var answer = await Invoke("ack", new JsonObject { ["incident"] = 1 });

        Assert.Equal("application/vnd.microsoft.card.adaptive", (string?)answer["type"]);
        Assert.NotNull((await _world.IncidentAsync(1)).AcknowledgedAt);
    }

    [Fact]
    public async Task CardAction_SeverityAndRole_CallTypedChanges()
    {
        await Invoke("severity", new JsonObject { ["incident"] = "INC-1", ["severity"] = "sev1" });
        await Invoke("assignRole", new JsonObject { ["incident"] = "INC-1", ["role"] = "scribe", ["user"] = $"{TeamsWorld.Bo.AadObjectId}, 29:ignored" });

        var incident = await _world.IncidentAsync(1);
        Assert.Equal(Severity.Sev1, incident.Severity);
        Assert.Equal(new Person("teams", TeamsWorld.Bo.AadObjectId, "Bo"), incident.RoleHolder(IncidentRole.Scribe));
    }

    [Theory]
    [InlineData("launch", """{"incident":"INC-1"}""", "Unknown card action 'launch'.")]
    [InlineData("ack", """{"incident":"yesterday"}""", "That card action does not name an incident.")]
    [InlineData("severity", """{"incident":"INC-1","severity":"sev9"}""", "Unknown severity 'sev9'")]
    [InlineData("status", """{"incident":"INC-1","status":"panicking"}""", "Unknown status 'panicking'.")]
    [InlineData("assignRole", """{"incident":"INC-1","role":"chef","user":"aad-bo-0002"}""", "Unknown role 'chef'.")]
    [InlineData("assignRole", """{"incident":"INC-1","role":"ic","user":""}""", "Pick a person for the role.")]
    [InlineData("assignRole", """{"incident":"INC-1","role":"ic","user":"nobody-we-know"}""", "I can't find the person picked for the role.")]
    public async Task CardAction_CannotBeDone_AnsweredWithWhyAndNothingChanges(string verb, string data, string why)
    {
        var before = await _world.IncidentAsync(1);

        var answer = await Invoke(verb, JsonNode.Parse(data)!.AsObject());

        Assert.Equal("application/vnd.microsoft.activity.message", (string?)answer["type"]);
        Assert.Contains(why, (string?)answer["value"], StringComparison.Ordinal);
        Assert.Equal(before.Version, (await _world.IncidentAsync(1)).Version);
    }

    [Fact]
    public async Task CardAction_BadPayload_LoggedAsRefused()
    {
        await Invoke("launch", new JsonObject { ["incident"] = "INC-1" });

        Assert.Contains(_world.Logs.GetSnapshot(), r => r.Message.Contains("card action", StringComparison.Ordinal)
            && r.Message.Contains("refused: Unknown card action 'launch'.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invoke_WithoutAction_AnsweredAsBadRequestNot500()
    {
        var invoke = _world.Activities.Base("invoke", Room, TeamsWorld.Ann);
        invoke["name"] = "adaptiveCard/action";
        invoke["value"] = new JsonObject { ["trigger"] = "manual" };

        var answer = await _world.PostInvokeAsync(invoke);

        Assert.Equal(400, (int)answer["statusCode"]!);
        Assert.Equal("application/vnd.microsoft.error", (string?)answer["type"]);
    }

    [Fact]
    public async Task ConversationUpdate_BotAdded_AcceptedAndLogged()
    {
        var update = _world.Activities.Base("conversationUpdate", "19:newteam@thread.tacv2", TeamsWorld.Ann);
        update["membersAdded"] = new JsonArray(new JsonObject { ["id"] = _world.Activities.BotId });

        Assert.Equal(HttpStatusCode.OK, (await _world.PostAsync(update)).StatusCode);
        Assert.Contains(_world.Logs.GetSnapshot(), r => r.Message.Contains("the app was added to conversation 19:newteam@thread.tacv2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Invoke_NobodyHandles_Returns501()
    {
        var invoke = _world.Activities.Base("invoke", Room, TeamsWorld.Ann);
        invoke["name"] = "task/fetch";

        Assert.Equal(HttpStatusCode.NotImplemented, (await _world.PostAsync(invoke)).StatusCode);
    }

    [Fact]
    public async Task CardAction_FromOutsideTheWarRoom_RefusedLikeTypedCommandAndNothingChanges()
    {
        var before = await _world.IncidentAsync(1);

        var answer = await _world.PostInvokeAsync(_world.Activities.CardAction(
            "19:general@thread.v2", TeamsWorld.Ann, "resolve", new JsonObject { ["verb"] = "resolve", ["incident"] = "INC-1" }, "card-activity", "groupChat"));

        Assert.Equal("application/vnd.microsoft.activity.message", (string?)answer["type"]);
        Assert.Contains("war room", (string?)answer["value"], StringComparison.Ordinal);
        Assert.Equal(before.Version, (await _world.IncidentAsync(1)).Version);
    }

    [Fact]
    public async Task CardAction_ResolveByNoRoleHolder_RefusedWhenRestrictedToRoles()
    {
        await using var world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?> { ["Permissions:RestrictToRoles"] = "true" });
        world.Connector.AddMember(TeamsWorld.Bo.Mri, TeamsWorld.Bo.AadObjectId, TeamsWorld.Bo.Name);
        await world.PostAsync(world.Activities.Command(Room, TeamsWorld.Ann, "declare sev2 Checkout is down", "groupChat"));
        await world.PostInvokeAsync(world.Activities.CardAction(Room, TeamsWorld.Ann, "assignRole",
            new JsonObject { ["verb"] = "assignRole", ["incident"] = "INC-1", ["role"] = "ic", ["user"] = TeamsWorld.Ann.AadObjectId }, "card-activity", "groupChat"));

        var answer = await world.PostInvokeAsync(world.Activities.CardAction(
            Room, TeamsWorld.Bo, "resolve", new JsonObject { ["verb"] = "resolve", ["incident"] = "INC-1" }, "card-activity", "groupChat"));

        Assert.Equal("application/vnd.microsoft.activity.message", (string?)answer["type"]);
        Assert.False((await world.IncidentAsync(1)).IsResolved);
    }

    private async Task<JsonObject> Invoke(string verb, JsonObject data)
    {
        data["verb"] = verb;
        return await _world.PostInvokeAsync(_world.Activities.CardAction(Room, TeamsWorld.Ann, verb, data, "card-activity", "groupChat"));
    }
}
