using System.Net;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// Slack:AllowedTeams, by default the bot token's own team from auth.test: a signed request from any other workspace
/// (a second installation of the same app, a Slack Connect partner) has no effect and gets no answer, over HTTP and
/// over Socket Mode alike; until the bot's own team is known, requests are refused, never let through.
/// </summary>
public sealed class SlackWorkspaceTests : IAsyncLifetime
{
    private const string Foreign = "TFOREIGN1";
    private const string Ann = "UANN00001";

    private readonly SqliteTestDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _slack.AddUser(Ann, "ann");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Command_ForeignWorkspaceOverHttp_EmptyOkAndNothingHappens()
    {
        await using var host = SlackHost.Start(_database, _slack);

        using var request = host.Signer.Form("/slack/commands", FromTeam(Foreign, "declare sev1 Foreign outage"));
        var response = await host.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
        Assert.Empty(await host.Store.ListAsync(new IncidentQuery(), default));
        Assert.Empty(_slack.CallsTo("conversations.create"));
        Assert.Contains(host.Logs.GetSnapshot(), r => r.Message.Contains($"workspace {Foreign} is not in Slack:AllowedTeams", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Command_ForeignWorkspaceOverSocketMode_AckedEmptyAndNothingHappens()
    {
        await using var host = SlackHost.Start(_database, _slack, socketMode: true);

        var ack = await host.Transport.CommandAsync(FromTeam(Foreign, "declare sev1 Foreign outage"));

        Assert.Empty(ack.EnumerateObject());
        Assert.Empty(await host.Store.ListAsync(new IncidentQuery(), default));
        Assert.Empty(_slack.CallsTo("conversations.create"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CardActionAndEvent_ForeignWorkspace_NoEffectNoReply(bool socketMode)
    {
        await using var host = SlackHost.Start(_database, _slack, socketMode);
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        // Opened, history read back included: the foreign message below must be refused, not read back with the history.
        var incident = await host.WaitForWarRoomAsync(new IncidentNumber(1));
        var room = incident.WarRooms.Single().Channel;

        var ack = SlackPayloads.BlockAction("UEVE00001", "eve", room, "card:INC-1:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, "INC-1"), _slack.ResponseUrl("foreign"));
        ack["team"]!["id"] = Foreign;
        ack["user"]!["team_id"] = Foreign;
        await host.Transport.InteractionAsync(ack);
        var message = SlackPayloads.EventCallback(SlackPayloads.Message(room, "UEVE00001", _slack.PostUserMessage(room, "UEVE00001", "foreign chatter"), "foreign chatter"));
        message["team_id"] = Foreign;
        message["authorizations"]![0]!["team_id"] = Foreign;
        await host.Transport.EventAsync(message);

        Assert.Null((await host.Store.GetAsync(new IncidentNumber(1), default))!.AcknowledgedAt);
        Assert.DoesNotContain(await host.Store.GetTimelineAsync(incident.Id, default), e => e.Text.Contains("foreign chatter", StringComparison.Ordinal));
        Assert.Empty(_slack.Responses);
    }

    [Fact]
    public async Task Command_OrgWideGridInstall_AcceptsWorkspacesOfTheOrganisationOnly()
    {
        _slack.EnterpriseId = "EGRID0001";
        _slack.EnterpriseInstall = true;
        await using var host = SlackHost.Start(_database, _slack);

        await host.Transport.CommandAsync(FromTeam("TSISTER01", "declare sev3 Sister workspace", enterprise: "EGRID0001"));
        await host.Transport.CommandAsync(FromTeam("TOTHERORG", "declare sev3 Other organisation", enterprise: "EOTHER001"));

        var declared = Assert.Single(await host.Store.ListAsync(new IncidentQuery(), default));
        Assert.Equal("Sister workspace", declared.Title);
    }

    [Theory]
    [InlineData("TALLOWED1", FakeSlackServer.TeamId, false)]
    [InlineData("TALLOWED1", "TALLOWED1", true)]
    [InlineData("*", Foreign, true)]
    public async Task Command_ConfiguredAllowedTeams_DecideAlone(string allowed, string from, bool declares)
    {
        await using var host = SlackHost.Start(_database, _slack, extra: new Dictionary<string, string?> { ["Slack:AllowedTeams:0"] = allowed });

        await host.Transport.CommandAsync(FromTeam(from, "declare sev3 Configured teams"));

        Assert.Equal(declares ? 1 : 0, (await host.Store.ListAsync(new IncidentQuery(), default)).Count);
    }

    [Fact]
    public async Task Command_OwnTeamNotKnownYet_Refused503ThenAcceptedOnceKnown()
    {
        var slackAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _slack.Script("auth.test", new SlackFault(Hold: slackAnswers.Task));
        await using var host = SlackHost.Start(_database, _slack);

        using var early = host.Signer.Form("/slack/commands", FromTeam(FakeSlackServer.TeamId, "declare sev1 Too early"));
        var refused = await host.SendAsync(early);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Empty(await host.Store.ListAsync(new IncidentQuery(), default));

        slackAnswers.SetResult();
        await host.Transport.CommandAsync(FromTeam(FakeSlackServer.TeamId, "declare sev1 Once known"));
        var declared = Assert.Single(await host.Store.ListAsync(new IncidentQuery(), default));
        Assert.Equal("Once known", declared.Title);
        Assert.Single(_slack.CallsTo("auth.test"));
    }

    private static List<KeyValuePair<string, string>> FromTeam(string team, string text, string? enterprise = null)
    {
        var fields = SlackPayloads.Command(text, Ann, "ann", "CGENERAL")
            .Select(f => f.Key == "team_id" ? new KeyValuePair<string, string>("team_id", team) : f)
            .ToList();
        if (enterprise is not null)
        {
            fields.Add(new("enterprise_id", enterprise));
            fields.Add(new("is_enterprise_install", "true"));
        }

        return fields;
    }
}
