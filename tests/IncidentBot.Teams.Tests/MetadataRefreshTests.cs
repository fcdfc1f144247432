using System.Net;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Teams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// The signing keys are refreshed every 12 hours; when a refresh fails the last good keys stay in use and the next
/// attempt waits (1 minute, doubling up to an hour) instead of hitting the metadata endpoint on every request.
/// </summary>
public sealed class MetadataRefreshTests
{
    [Fact]
    public async Task PostMessages_RefreshFailsAfterLifetime_KeepsKeysAndBacksOff()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var world = await TeamsWorld.StartAsync(services: services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        var help = world.Activities.Command("19:keys@thread.tacv2", TeamsWorld.Ann, "help");
        async Task<HttpStatusCode> PostAsync() =>
            (await world.PostAsync(help, world.Issuer.Mint(new TokenSpec { Audience = world.AppId!, ServiceUrl = world.Connector.ServiceUrl, IssuedAt = clock.GetUtcNow() }))).StatusCode;

        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(1, world.Issuer.MetadataRequests);

        world.Issuer.FailMetadata = true;
        clock.Advance(TimeSpan.FromHours(13));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PostAsync());
        }

        Assert.Equal(2, world.Issuer.MetadataRequests);

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(3, world.Issuer.MetadataRequests);

        // The second wait is two minutes.
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(3, world.Issuer.MetadataRequests);
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(4, world.Issuer.MetadataRequests);

        // Back up: the next attempt succeeds and the keys are fresh for another 12 hours.
        world.Issuer.FailMetadata = false;
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(HttpStatusCode.OK, await PostAsync());
        Assert.Equal(5, world.Issuer.MetadataRequests);
    }
}
