using System.Net;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using IncidentBot.TestKit.Telemetry;

namespace IncidentBot.Slack.Tests;

/// <summary>The refused-request counter is process-wide, so these run alone.</summary>
[CollectionDefinition(nameof(SlackRefusalMetrics), DisableParallelization = true)]
public sealed class SlackRefusalMetrics;

/// <summary>Refusals on /slack/* and in Socket Mode are counted in incidentbot.inbound.refused with a fixed reason.</summary>
[Collection(nameof(SlackRefusalMetrics))]
public sealed class SlackRefusalMetricTests : SlackOnSqliteTest
{
    [Fact]
    public async Task Http_BadSignatureAndForeignWorkspace_CountedByEndpointAndReason()
    {
        using var recorder = new RefusalRecorder();
        await using var host = SlackHost.Start(Database, FakeSlack);
        var foreign = SlackPayloads.Command("help", "UANN", "ann", "CGENERAL").Select(f => f.Key == "team_id" ? new("team_id", "TFOREIGN1") : f).ToList();

        using var forged = new SlackSigner("not-the-signing-secret-at-all-0000").Form("/slack/commands", foreign);
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.SendAsync(forged)).StatusCode);
        using var signed = host.Signer.Form("/slack/commands", foreign);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(signed)).StatusCode);

        Assert.Equal([("slack.commands", "unauthenticated"), ("slack.commands", "workspace")], recorder.Refusals);
    }

    [Fact]
    public async Task SocketMode_ForeignWorkspace_Counted()
    {
        using var recorder = new RefusalRecorder();
        await using var host = SlackHost.Start(Database, FakeSlack, socketMode: true);

        await host.Transport.CommandAsync(SlackPayloads.Command("help", "UANN", "ann", "CGENERAL").Select(f => f.Key == "team_id" ? new("team_id", "TFOREIGN1") : f).ToList());

        Assert.Equal([("slack.socket_mode", "workspace")], recorder.Refusals);
    }
}
