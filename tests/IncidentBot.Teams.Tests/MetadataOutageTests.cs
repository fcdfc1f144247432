using System.Net;

namespace IncidentBot.Teams.Tests;

/// <summary>When the signing keys cannot be loaded at all, the activity is refused with 503 so Teams delivers it again.</summary>
public sealed class MetadataOutageTests
{
    [Fact]
    public async Task PostMessages_OpenIdMetadataUnreachable_Returns503()
    {
        await using var world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Teams:OpenIdMetadataUrl"] = "http://127.0.0.1:9/v1/.well-known/openidconfiguration",
        });

        var response = await world.PostAsync(world.Activities.Command("19:outage@thread.tacv2", TeamsWorld.Ann, "help"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Empty(world.Connector.Calls);
    }
}
