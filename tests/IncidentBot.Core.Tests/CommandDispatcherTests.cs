using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;

namespace IncidentBot.Core.Tests;

public sealed class CommandDispatcherTests : EngineTests
{
    private static readonly ChatSpace WarRoom = new("chat", "C-WAR");

    private static CommandContext In(ChatSpace space, Person? who = null) =>
        new(new Actor(who ?? Ann, space), "/incident ", (token, _) => Task.FromResult(token switch
        {
            "<@U-BO>" => Bo,
            "<@U-CY|cy>" => Cy,
            _ => (Person?)null,
        }));

    private Task<CommandReply> Run(string text, ChatSpace? space = null) => Dispatcher.ExecuteAsync(text, In(space ?? General), default);

    [Fact]
    public async Task Declare_WithSeverity_DeclaresAndReplies()
    {
        var reply = await Run("declare sev1 Checkout is down");
        Assert.Equal(ReplyKind.Declared, reply.Kind);
        Assert.Equal("INC-1 declared (SEV1): Checkout is down", reply.Text);
        Assert.Equal(Severity.Sev1, reply.Incident!.Severity);
    }

    [Fact]
    public async Task Declare_WithoutSeverity_UsesDefault()
    {
        var reply = await Run("declare Slow search");
        Assert.Equal(CommandDispatcher.DefaultSeverity, reply.Incident!.Severity);
    }

    [Fact]
    public async Task Declare_Empty_AsksForForm() => Assert.Equal(ReplyKind.DeclareForm, (await Run("declare")).Kind);

    [Fact]
    public async Task CommandInWarRoom_ActsOnItsIncident()
    {
        await Run("declare sev2 Checkout is down");
        await Run("link INC-1", WarRoom);

        var reply = await Run("role ic <@U-BO>", WarRoom);
        Assert.Equal(ReplyKind.Changed, reply.Kind);
        Assert.True(Bo.IsSameAs(reply.Incident!.RoleHolder(IncidentRole.Commander)));

        Assert.Equal("INC-1: status update posted.", (await Run("update Rolling back", WarRoom)).Text);
        Assert.Equal(Severity.Sev1, (await Run("sev 1", WarRoom)).Incident!.Severity);
        Assert.Equal(IncidentStatus.Identified, (await Run("status identified", WarRoom)).Incident!.Status);
    }

    [Fact]
    public async Task CommandOutsideWarRoom_WithoutNumber_ExplainsHowToNameIt()
    {
        await Run("declare sev2 Checkout is down");
        var reply = await Run("ack");
        Assert.Equal(ReplyKind.Error, reply.Kind);
        Assert.Equal("This conversation is not an incident war room; name the incident: `/incident status INC-42 resolved`.", reply.Text);
    }

    [Fact]
    public async Task CommandOutsideWarRoom_WithNumber_Works()
    {
        await Run("declare sev2 Checkout is down");
        var reply = await Run("status INC-1 resolved");
        Assert.Equal(ReplyKind.Changed, reply.Kind);
        Assert.True(reply.Incident!.IsResolved);
    }

    [Fact]
    public async Task RuleViolation_IsAnErrorReplyNotAnException()
    {
        await Run("declare sev2 Checkout is down");
        await Run("resolve INC-1 fixed");
        var reply = await Run("resolve INC-1");
        Assert.Equal(ReplyKind.Error, reply.Kind);
        Assert.Equal("INC-1 is already resolved. Use `reopen` first.", reply.Text);
    }

    [Fact]
    public async Task Malformed_RepliesWithUsage()
    {
        var reply = await Run("role ic");
        Assert.Equal(ReplyKind.Error, reply.Kind);
        Assert.Equal("Usage: `/incident role <ic|lead|comms|scribe> <@user|me>`", reply.Text);
    }

    [Fact]
    public async Task RoleMe_AssignsTheCaller()
    {
        await Run("declare sev2 x");
        var reply = await Run("role INC-1 scribe me");
        Assert.True(Ann.IsSameAs(reply.Incident!.RoleHolder(IncidentRole.Scribe)));
    }

    [Fact]
    public async Task UnknownUser_TellsTheUser()
    {
        await Run("declare sev2 x");
        var reply = await Run("role INC-1 lead <@U-NOBODY>");
        Assert.Equal(ReplyKind.Error, reply.Kind);
        Assert.Equal("I can't find the user <@U-NOBODY>.", reply.Text);
    }

    [Fact]
    public async Task Action_WithOwnerMention_ResolvesOwner()
    {
        await Run("declare sev2 x");
        await Run("action INC-1 Add canary for config pushes <@U-CY|cy>");
        var incident = await Store.GetAsync(new IncidentNumber(1), default);
        var item = Assert.Single(await Store.GetActionItemsAsync(incident!.Id, default));
        Assert.True(Cy.IsSameAs(item.Owner));
        Assert.Equal("Add canary for config pushes", item.Text);
    }

    [Fact]
    public async Task List_ShowsOpenIncidentsOnly()
    {
        await Run("declare sev2 first");
        await Run("declare sev3 second");
        await Run("resolve INC-1");
        var reply = await Run("list");
        Assert.Equal(ReplyKind.List, reply.Kind);
        Assert.Equal(["INC-2"], reply.Incidents.Select(i => i.Number.ToString()).ToArray());
    }

    [Fact]
    public async Task Timeline_ReturnsEntries()
    {
        await Run("declare sev2 first");
        await Run("note INC-1 customer reports via support");
        var reply = await Run("timeline INC-1");
        Assert.Equal(ReplyKind.Timeline, reply.Kind);
        Assert.Equal([TimelineKind.System, TimelineKind.Note], reply.Timeline.Select(e => e.Kind).ToArray());
    }

    [Fact]
    public async Task Link_TwiceToSameIncident_SaysSo()
    {
        await Run("declare sev2 first");
        await Run("link INC-1", WarRoom);
        var reply = await Run("link INC-1", WarRoom);
        Assert.Equal("This conversation is already the war room of INC-1.", reply.Text);
    }

    [Fact]
    public async Task Postmortem_WithPublicUrl_LinksTheDashboard()
    {
        await Run("declare sev2 first");
        var links = new IncidentLinks(Microsoft.Extensions.Options.Options.Create(new IncidentLinkOptions { PublicUrl = new Uri("https://incidents.example.com/bot") }));
        var reply = await new CommandDispatcher(Incidents, Store, Access, links).ExecuteAsync("postmortem INC-1", In(General), default);

        Assert.Equal(ReplyKind.Postmortem, reply.Kind);
        Assert.Equal(
            "Postmortem draft for INC-1: https://incidents.example.com/bot/incidents/INC-1 (Markdown: https://incidents.example.com/bot/incidents/INC-1/postmortem.md)",
            reply.Text);
    }

    [Fact]
    public async Task Bridge_NoFrontEndMakesBridges_SaysBridgesAreOffAndPromisesNothing()
    {
        var declared = await Run("declare sev2 first");
        var reply = await Run("bridge INC-1");

        Assert.Equal(ReplyKind.Error, reply.Kind);
        Assert.Equal(CommandDispatcher.BridgesOff, reply.Text);
        Assert.DoesNotContain(await Store.GetTimelineAsync(declared.Incident!.Id, default), e => e.Text.Contains("bridge", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bridge_BridgesOn_AsksForANewOne()
    {
        var declared = await Run("declare sev2 first");
        var reply = await new CommandDispatcher(Incidents, Store, Access, bridges: new Bridges()).ExecuteAsync("bridge INC-1", In(General), default);

        Assert.Equal(ReplyKind.Changed, reply.Kind);
        Assert.Contains(await Store.GetTimelineAsync(declared.Incident!.Id, default), e => e.Text == "Ann asked for a new meeting bridge.");
    }

    private sealed class Bridges : IMeetingBridges
    {
        public bool Enabled => true;
    }

    [Fact]
    public async Task Postmortem_WithoutPublicUrl_SaysWhereToFindIt()
    {
        await Run("declare sev2 first");
        var reply = await Run("postmortem INC-1");
        Assert.Contains("/incidents/INC-1", reply.Text);
        Assert.Contains("Dashboard:PublicUrl", reply.Text);
    }

    [Fact]
    public async Task Help_ListsCommands()
    {
        var reply = await Run("help");
        Assert.Equal(ReplyKind.Help, reply.Kind);
        Assert.Contains("/incident declare [private] [sev1-4] <title>", reply.Text);
    }
}
