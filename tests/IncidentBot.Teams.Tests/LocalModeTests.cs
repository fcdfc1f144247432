using System.Net;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>No Teams:AppId: Bot Framework's local mode, for the Agents Playground.</summary>
public sealed class LocalModeTests : IAsyncLifetime
{
    private TeamsWorld _world = null!;

    public async Task InitializeAsync() => _world = await TeamsWorld.StartAsync(anonymous: true);

    public async Task DisposeAsync() => await _world.DisposeAsync();

    [Fact]
    public async Task PostMessages_LocalModeWithoutAuthorization_AcceptsAndRepliesWithoutToken()
    {
        var activity = _world.Activities.Command("playground-conversation", TeamsWorld.Ann, "declare sev3 Playground smoke test", "personal");
        var response = await _world.PostAsync(activity, token: "");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = await _world.Connector.WaitForAsync(c => c.Any(x => x.Card is not null), what: "the incident card");
        Assert.All(calls, c => Assert.Null(c.Authorization));
        Assert.Empty(_world.Issuer.TokenRequests);
        Assert.Contains("INC-1", calls.First(c => c.Card is not null).Card!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostMessages_LocalModeWithPresentInvalidToken_Returns401()
    {
        var token = _world.Issuer.Mint(new TokenSpec { Audience = "whatever", ServiceUrl = _world.Connector.ServiceUrl, Forged = true });
        var response = await _world.PostAsync(_world.Activities.Command("playground-conversation", TeamsWorld.Ann, "help", "personal"), token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
