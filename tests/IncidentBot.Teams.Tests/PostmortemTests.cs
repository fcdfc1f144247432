using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Teams.Cards;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>The postmortem draft from chat: the command and the card's action answer in the conversation with dashboard links.</summary>
public sealed class PostmortemTests : IAsyncLifetime
{
    private const string WarRoom = "19:ops@thread.tacv2";
    private const string Page = "https://incidents.example.com/incidents/INC-1";
    private const string Markdown = "https://incidents.example.com/incidents/INC-1/postmortem.md";

    private TeamsWorld _world = null!;

    public async Task InitializeAsync() =>
        _world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?> { ["Dashboard:PublicUrl"] = "https://incidents.example.com/" });

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task Command_InWarRoom_RepliesWithDashboardAndMarkdownLinks()
    {
        await DeclareAsync();

        var command = _world.Activities.Command(WarRoom, TeamsWorld.Bo, "postmortem");
        Assert.Equal(HttpStatusCode.OK, (await _world.PostAsync(command)).StatusCode);

        var reply = await ReplyToAsync((string)command["id"]!);
        Assert.Contains($"[open it on the dashboard]({Page})", reply.Text, StringComparison.Ordinal);
        Assert.Contains($"[Markdown]({Markdown})", reply.Text, StringComparison.Ordinal);
        Assert.Equal("markdown", (string?)reply.Body!["textFormat"]);
    }

    [Fact]
    public async Task CardAction_Postmortem_KeepsCardAndRepliesWithLinksForEveryone()
    {
        await DeclareAsync();

        var click = _world.Activities.CardAction(WarRoom, TeamsWorld.Bo, CardVerbs.Postmortem,
            new JsonObject { ["verb"] = CardVerbs.Postmortem, ["incident"] = "INC-1" }, "card-activity");
        var invoke = await _world.PostInvokeAsync(click);

        Assert.Equal(200, (int)invoke["statusCode"]!);
        Assert.Equal(IncidentCards.ContentType, (string?)invoke["type"]);
        var reply = await ReplyToAsync((string)click["id"]!);
        Assert.Contains($"[open it on the dashboard]({Page})", reply.Text, StringComparison.Ordinal);
        Assert.Contains(Markdown, reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActionSubmitFallback_Postmortem_RepliesWithLinks()
    {
        await DeclareAsync();

        var submit = _world.Activities.Base("message", WarRoom, TeamsWorld.Bo);
        submit["value"] = new JsonObject { ["verb"] = CardVerbs.Postmortem, ["incident"] = "INC-1" };
        submit["replyToId"] = "card-activity";
        Assert.Equal(HttpStatusCode.OK, (await _world.PostAsync(submit)).StatusCode);

        var reply = await ReplyToAsync((string)submit["id"]!);
        Assert.Contains(Page, reply.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CardAction_UnknownIncident_AnswersWithMessageAndPostsNothing()
    {
        var click = _world.Activities.CardAction(WarRoom, TeamsWorld.Bo, CardVerbs.Postmortem,
            new JsonObject { ["verb"] = CardVerbs.Postmortem, ["incident"] = "INC-9" }, "card-activity");
        var invoke = await _world.PostInvokeAsync(click);

        Assert.Equal("application/vnd.microsoft.activity.message", (string?)invoke["type"]);
        Assert.Contains("INC-9 does not exist", (string?)invoke["value"], StringComparison.Ordinal);
        await Task.Delay(300);
        Assert.DoesNotContain(_world.Connector.Calls, c => c.ActivityId == (string?)click["id"]);
    }

    [Fact]
    public async Task Command_NoPublicUrl_SaysWhereToFindTheDraft()
    {
        await using var world = await TeamsWorld.StartAsync();
        await world.PostAsync(world.Activities.Command(WarRoom, TeamsWorld.Ann, "declare sev2 Checkout is down"));
        await world.Connector.WaitForAsync(c => c.Any(x => x.Text?.Contains("INC-1 declared", StringComparison.Ordinal) == true), what: "the declare answer");

        var command = world.Activities.Command(WarRoom, TeamsWorld.Bo, "postmortem");
        await world.PostAsync(command);

        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == (string?)command["id"]), what: "the answer");
        var text = calls.Single(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == (string?)command["id"]).Text;
        Assert.Contains("/incidents/INC-1", text, StringComparison.Ordinal);
        Assert.Contains("Dashboard:PublicUrl", text, StringComparison.Ordinal);
    }

    private async Task DeclareAsync()
    {
        await _world.PostAsync(_world.Activities.Command(WarRoom, TeamsWorld.Ann, "declare sev2 Checkout is down"));
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Text?.Contains("INC-1 declared", StringComparison.Ordinal) == true), what: "the declare answer");
    }

    private async Task<ConnectorCall> ReplyToAsync(string activityId)
    {
        var calls = await _world.Connector.WaitForAsync(
            c => c.Any(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == activityId && x.Text?.Contains("Postmortem draft for INC-1", StringComparison.Ordinal) == true),
            what: $"the postmortem answer to {activityId}");
        return calls.Single(x => x.Operation == ConnectorOperation.Reply && x.ActivityId == activityId);
    }
}
