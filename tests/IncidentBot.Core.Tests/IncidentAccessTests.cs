using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Telemetry;

namespace IncidentBot.Core.Tests;

/// <summary>Who sees and who may change an incident, from where: every rule of <c>IncidentAccess</c> through the dispatcher.</summary>
public sealed class IncidentAccessTests : EngineTests
{
    private static readonly ChatSpace WarRoom = new("chat", "C-WAR");
    private static readonly ChatSpace OtherRoom = new("chat", "C-OTHER");

    private static CommandContext In(ChatSpace space, Person? who = null) =>
        new(new Actor(who ?? Ann, space), "/incident ", (token, _) => Task.FromResult(token == "<@U-BO>" ? Bo : (Person?)null));

    private Task<CommandReply> Run(string text, ChatSpace space, Person? who = null) => Dispatcher.ExecuteAsync(text, In(space, who), default);

    private async Task<Incident> DeclareWithRoomAsync(bool isPrivate, string title = "Payroll export leaked")
    {
        var request = new DeclareRequest(title, Severity.Sev2) { IsPrivate = isPrivate, WarRoom = WarRoom };
        return (await Incidents.DeclareAsync(request, AsAnn, default)).Incident;
    }

    [Fact]
    public async Task DeclarePrivate_ReplyCarriesNoTitle()
    {
        var reply = await Run("declare private sev1 Payroll export leaked", General);

        Assert.Equal(ReplyKind.Declared, reply.Kind);
        Assert.True(reply.Incident!.IsPrivate);
        Assert.Equal("INC-1 declared privately (SEV1).", reply.Text);
    }

    [Fact]
    public async Task ChangeOutsideWarRoom_PublicIncident_RefusedWithPointerToTheWarRoom()
    {
        await DeclareWithRoomAsync(isPrivate: false, title: "Checkout is down");

        var reply = await Run("resolve INC-1", General);

        Assert.Equal(ReplyKind.Refused, reply.Kind);
        Assert.Equal("INC-1 is changed only in its war room.", reply.Text);
        Assert.Equal([WarRoom], reply.Incident!.WarRooms);
        Assert.False((await Store.GetAsync(new IncidentNumber(1), default))!.IsResolved);
    }

    [Fact]
    public async Task ChangeOutsideWarRoom_Allowed_WhenChangesOnlyInWarRoomIsOff()
    {
        Permissions.ChangesOnlyInWarRoom = false;
        await DeclareWithRoomAsync(isPrivate: false);

        Assert.Equal(ReplyKind.Changed, (await Run("ack INC-1", General)).Kind);
    }

    [Fact]
    public async Task ChangeInsideWarRoom_AnyMember_Allowed()
    {
        await DeclareWithRoomAsync(isPrivate: true);

        Assert.Equal(ReplyKind.Changed, (await Run("resolve", WarRoom, Cy)).Kind);
    }

    [Fact]
    public async Task PrivateIncident_ReadsFromOutside_RevealOnlyItsNumber()
    {
        await DeclareWithRoomAsync(isPrivate: true);
        await Incidents.AddNoteAsync(new IncidentNumber(1), "the export went to a public bucket", new Actor(Ann, WarRoom), default);
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev3), AsAnn, default);

        var replies = new[]
        {
            await Run("timeline INC-1", General),
            await Run("postmortem INC-1", General),
            await Run("note INC-1 hello", General),
            await Run("link INC-1", OtherRoom, Bo),
            await Run("private INC-1", General),
        };
        var list = await Run("list", General);

        Assert.All(replies, r =>
        {
            Assert.Equal(ReplyKind.Refused, r.Kind);
            Assert.Null(r.Incident);
            Assert.Empty(r.Timeline);
            Assert.DoesNotContain("Payroll", r.Text, StringComparison.Ordinal);
            Assert.Contains("INC-1", r.Text, StringComparison.Ordinal);
        });
        Assert.Equal(["INC-2"], list.Incidents.Select(i => i.Number.ToString()));
        Assert.Equal(["INC-1", "INC-2"], (await Run("list", WarRoom)).Incidents.Select(i => i.Number.ToString()).Order());
        Assert.Contains((await Run("timeline", WarRoom)).Timeline, e => e.Text == "the export went to a public bucket");
    }

    [Fact]
    public async Task RestrictToRoles_PageResolveSev_OnlyRoleHolders()
    {
        Permissions.RestrictToRoles = true;
        await DeclareWithRoomAsync(isPrivate: false);
        await Run("role ic <@U-BO>", WarRoom);

        foreach (var text in new[] { "page", "resolve", "sev 1", "status resolved" })
        {
            var refused = await Run(text, WarRoom, Cy);
            Assert.Equal(ReplyKind.Refused, refused.Kind);
            Assert.Contains("role holders", refused.Text, StringComparison.Ordinal);
        }

        Assert.Equal(ReplyKind.Changed, (await Run("note still allowed", WarRoom, Cy)).Kind);
        Assert.Equal(ReplyKind.Changed, (await Run("sev 1", WarRoom, Bo)).Kind);
        Assert.Equal(ReplyKind.Changed, (await Run("resolve", WarRoom, Bo)).Kind);
    }

    [Fact]
    public async Task RestrictToRoles_NobodyHoldsARole_DeclarerMayResolve()
    {
        Permissions.RestrictToRoles = true;
        await DeclareWithRoomAsync(isPrivate: false);

        Assert.Equal(ReplyKind.Refused, (await Run("resolve", WarRoom, Cy)).Kind);
        Assert.Equal(ReplyKind.Changed, (await Run("resolve", WarRoom, Ann)).Kind);
    }

    [Fact]
    public async Task Link_OnlyByAMemberOfTheTargetWarRoom()
    {
        await DeclareWithRoomAsync(isPrivate: false);

        var refused = await Run("link INC-1", OtherRoom, Cy);
        Members.Add(WarRoom, Cy);
        var allowed = await Run("link INC-1", OtherRoom, Cy);

        Assert.Equal(ReplyKind.Refused, refused.Kind);
        Assert.Equal("Only members of the war room of INC-1 may link a conversation to it.", refused.Text);
        Assert.Equal(ReplyKind.Changed, allowed.Kind);
    }

    [Fact]
    public async Task Private_TypedInWarRoom_MakesItPrivateFromThenOn()
    {
        await DeclareWithRoomAsync(isPrivate: false, title: "Checkout is down");
        Assert.Single((await Run("list", General)).Incidents);

        var reply = await Run("private", WarRoom, Bo);

        Assert.Equal("INC-1 is private from now on.", reply.Text);
        Assert.True(reply.Incident!.IsPrivate);
        Assert.Empty((await Run("list", General)).Incidents);
        Assert.Equal(ReplyKind.Refused, (await Run("timeline INC-1", General)).Kind);
        Assert.Equal("INC-1 is already private.", (await Run("private", WarRoom)).Text);
    }

    [Fact]
    public async Task Refusal_IsCountedWithVerbAndReason()
    {
        using var refusals = new CommandRefusalRecorder();
        await DeclareWithRoomAsync(isPrivate: true);

        await Run("resolve INC-1", General);

        Assert.Contains(("resolve", "private"), refusals.Refusals);
    }
}
