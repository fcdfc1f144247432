using System.Net;
using IncidentBot.Core.Application;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// No Teams:AppId: unauthenticated activities are accepted only when the operator opted in (Development or
/// Teams:LocalMode=true) and only from a direct loopback caller; everything else is refused with 401.
/// </summary>
public sealed class LocalModeTests
{
    private static readonly Dictionary<string, string?> LocalModeOn = new() { ["Teams:LocalMode"] = "true" };

    public static TheoryData<string, string> ForwardingHeaders => new()
    {
        { "X-Forwarded-For", "203.0.113.9" },
        { "Forwarded", "for=203.0.113.9;proto=https" },
        { "X-Real-IP", "203.0.113.9" },
    };

    [Fact]
    public async Task PostMessages_ProductionWithoutAppId_Returns401AndDeclaresNothing()
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Production");

        var response = await world.PostAsync(Declare(world), token: "", headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.9" });
        var direct = await world.PostAsync(Declare(world), token: "");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, direct.StatusCode);
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
        Assert.Empty(world.Connector.Calls);
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.Contains("refused an activity", StringComparison.Ordinal) && r.Message.Contains("Teams is off", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ForwardingHeaders))]
    public async Task PostMessages_DevelopmentButProxied_Returns401(string header, string value)
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Development");

        var response = await world.PostAsync(Declare(world), token: "", headers: new Dictionary<string, string> { [header] = value });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
        Assert.Empty(world.Connector.Calls);
    }

    [Fact]
    public async Task PostMessages_DevelopmentDirectLoopback_AcceptsAndRepliesWithoutToken()
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Development");
        await AssertAcceptedAsync(world);
    }

    [Fact]
    public async Task PostMessages_LocalModeSettingDirectLoopback_AcceptsAndRepliesWithoutToken()
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Production", settings: LocalModeOn);
        await AssertAcceptedAsync(world);
    }

    [Fact]
    public async Task PostMessages_LocalModeSettingButProxied_Returns401()
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Production", settings: LocalModeOn);

        var response = await world.PostAsync(Declare(world), token: "", headers: new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.9" });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
    }

    [Fact]
    public async Task PostMessages_LocalModeWithPresentInvalidToken_Returns401()
    {
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Production", settings: LocalModeOn);
        var token = world.Issuer.Mint(new TokenSpec { Audience = "whatever", ServiceUrl = world.Connector.ServiceUrl, Forged = true });

        var response = await world.PostAsync(world.Activities.Command("playground-conversation", TeamsWorld.Ann, "help", "personal"), token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static System.Text.Json.Nodes.JsonObject Declare(TeamsWorld world) =>
        world.Activities.Command("playground-conversation", TeamsWorld.Ann, "declare sev1 Checkout is down", "personal");

    private static async Task AssertAcceptedAsync(TeamsWorld world)
    {
        var response = await world.PostAsync(world.Activities.Command("playground-conversation", TeamsWorld.Ann, "declare sev3 Playground smoke test", "personal"), token: "");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = await world.Connector.WaitForAsync(c => c.Any(x => x.Card is not null), what: "the incident card");
        Assert.All(calls, c => Assert.Null(c.Authorization));
        Assert.Empty(world.Issuer.TokenRequests);
        Assert.Contains("INC-1", calls.First(c => c.Card is not null).Card!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.StartsWith("TEAMS LOCAL MODE", StringComparison.Ordinal));
    }
}
