using IncidentBot.Teams.Connector;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Tests;

/// <summary>The bot's token only goes to Microsoft's Bot Connector hosts, or hosts configured on purpose.</summary>
public sealed class ServiceUrlPolicyTests
{
    private static ServiceUrlPolicy Policy(string appId, params string[] extraHosts) =>
        new(Options.Create(new TeamsOptions { AppId = appId, AllowedServiceHosts = extraHosts }));

    [Theory]
    [InlineData("https://smba.trafficmanager.net/teams/")]
    [InlineData("https://smba.trafficmanager.net/emea/")]
    [InlineData("https://smba.infra.gcc.teams.microsoft.com/teams")]
    [InlineData("https://europe.webchat.botframework.com/")]
    public void IsAllowed_MicrosoftConnectorHost_True(string serviceUrl) =>
        Assert.True(Policy("app").IsAllowed(serviceUrl));

    [Theory]
    [InlineData("https://evil.example.com/teams/")]
    [InlineData("https://smba.trafficmanager.net.evil.example.com/")]
    [InlineData("https://notbotframework.com/")]
    [InlineData("http://smba.trafficmanager.net/teams/")]
    [InlineData("http://127.0.0.1:56150/_connector")]
    [InlineData("not a url")]
    [InlineData(null)]
    public void IsAllowed_OtherHostWithAppId_False(string? serviceUrl) =>
        Assert.False(Policy("app").IsAllowed(serviceUrl));

    [Fact]
    public void IsAllowed_LoopbackInLocalMode_True() =>
        Assert.True(Policy("").IsAllowed("http://localhost:56150/_connector"));

    [Fact]
    public void IsAllowed_ConfiguredExtraHost_True() =>
        Assert.True(Policy("app", "connector.contoso.test").IsAllowed("https://connector.contoso.test/teams/"));
}
