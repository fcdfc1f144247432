using System.Net;
using IncidentBot.TestKit.Telemetry;

namespace IncidentBot.Teams.Tests;

/// <summary>The refused-request counter is process-wide, so these run alone.</summary>
[CollectionDefinition(nameof(TeamsRefusalMetrics), DisableParallelization = true)]
public sealed class TeamsRefusalMetrics;

/// <summary>Every refusal of /api/messages is counted in incidentbot.inbound.refused with a reason from a fixed set.</summary>
[Collection(nameof(TeamsRefusalMetrics))]
public sealed class RefusalMetricTests
{
    [Fact]
    public async Task PostMessages_Refusals_CountedByEndpointAndReason()
    {
        using var recorder = new RefusalRecorder();
        await using var world = await TeamsWorld.StartAsync();
        var help = world.Activities.Command("19:metrics@thread.tacv2", TeamsWorld.Ann, "help");
        var foreign = world.Activities.Command("19:metrics@thread.tacv2", TeamsWorld.Ann, "help");
        foreign["channelData"]!["tenant"]!["id"] = "someone-else";
        foreign["conversation"]!["tenantId"] = "someone-else";

        Assert.Equal(HttpStatusCode.Unauthorized, (await world.PostAsync(help, token: "")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.PostAsync(foreign)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(help)).StatusCode);

        Assert.Equal([("teams.messages", "unauthenticated"), ("teams.messages", "tenant")], recorder.Refusals);
    }

    [Fact]
    public async Task PostMessages_LocalModeRefusal_CountedAsLocalMode()
    {
        using var recorder = new RefusalRecorder();
        await using var world = await TeamsWorld.StartAsync(anonymous: true, environment: "Production");

        Assert.Equal(HttpStatusCode.Unauthorized, (await world.PostAsync(world.Activities.Command("c", TeamsWorld.Ann, "help", "personal"), token: "")).StatusCode);

        Assert.Equal([("teams.messages", "local_mode")], recorder.Refusals);
    }
}
