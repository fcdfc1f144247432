using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Tests;

public sealed class CommandParserTests
{
    private static ChatCommand Parsed(string text)
    {
        var result = CommandParser.Parse(text, "/incident ");
        Assert.True(result.Succeeded, result.Error);
        return result.Command!;
    }

    private static string Failure(string text)
    {
        var result = CommandParser.Parse(text, "/incident ");
        Assert.False(result.Succeeded);
        return result.Error!;
    }

    [Fact]
    public void Parse_DeclareWithSeverity_TakesSeverityAndTitle()
    {
        var declare = Assert.IsType<DeclareCommand>(Parsed("declare sev1 Checkout is down"));
        Assert.Equal(Severity.Sev1, declare.Severity);
        Assert.Equal("Checkout is down", declare.Title);
    }

    [Fact]
    public void Parse_DeclareWithoutSeverity_LeavesSeverityUnset()
    {
        var declare = Assert.IsType<DeclareCommand>(Parsed("DECLARE Several 5xx on login"));
        Assert.Null(declare.Severity);
        Assert.Equal("Several 5xx on login", declare.Title);
    }

    [Fact]
    public void Parse_DeclareAlone_OpensTheForm() =>
        Assert.IsType<OpenDeclareFormCommand>(Parsed("declare"));

    [Fact]
    public void Parse_DeclareOnlySeverity_FailsWithUsage() =>
        Assert.Contains("/incident declare [private] [sev1-4] <title>", Failure("declare sev2"));

    [Theory]
    [InlineData("role ic me", IncidentRole.Commander, "me")]
    [InlineData("role lead <@U123>", IncidentRole.Lead, "<@U123>")]
    [InlineData("role comms @Jane Doe", IncidentRole.Comms, "@Jane Doe")]
    [InlineData("role scribe <@U9|ann.lee>", IncidentRole.Scribe, "<@U9|ann.lee>")]
    [InlineData("role commander me", IncidentRole.Commander, "me")]
    public void Parse_Role_TakesRoleAndUserToken(string text, IncidentRole role, string token)
    {
        var assign = Assert.IsType<AssignRoleCommand>(Parsed(text));
        Assert.Equal(role, assign.Role);
        Assert.Equal(token, assign.UserToken);
    }

    [Theory]
    [InlineData("role ic")]
    [InlineData("role boss me")]
    [InlineData("role ic jane")]
    public void Parse_MalformedRole_FailsWithRoleUsage(string text) =>
        Assert.Contains("role <ic|lead|comms|scribe> <@user|me>", Failure(text));

    [Theory]
    [InlineData("sev 2", Severity.Sev2)]
    [InlineData("sev sev4", Severity.Sev4)]
    [InlineData("sev SEV1", Severity.Sev1)]
    public void Parse_Severity_AcceptsNumberAndLabel(string text, Severity expected) =>
        Assert.Equal(expected, Assert.IsType<ChangeSeverityCommand>(Parsed(text)).Severity);

    [Theory]
    [InlineData("sev 5")]
    [InlineData("sev")]
    [InlineData("sev high")]
    public void Parse_BadSeverity_Fails(string text) => Assert.Contains("sev <1-4>", Failure(text));

    [Fact]
    public void Parse_IncidentNumberFirst_NamesTheIncident()
    {
        var status = Assert.IsType<ChangeStatusCommand>(Parsed("status INC-42 resolved"));
        Assert.Equal(new IncidentNumber(42), status.Number);
        Assert.Equal(IncidentStatus.Resolved, status.Status);
    }

    [Fact]
    public void Parse_BareNumberAfterSev_IsSeverityNotIncident()
    {
        var sev = Assert.IsType<ChangeSeverityCommand>(Parsed("sev 2"));
        Assert.Null(sev.Number);
    }

    [Fact]
    public void Parse_HashNumber_NamesTheIncident() =>
        Assert.Equal(new IncidentNumber(7), Assert.IsType<AcknowledgeCommand>(Parsed("ack #7")).Number);

    [Fact]
    public void Parse_UpdateText_KeepsWholeText() =>
        Assert.Equal("Rolled back deploy 123; error rate falling", Assert.IsType<PostUpdateCommand>(Parsed("update   Rolled back deploy 123; error rate falling")).Text);

    [Theory]
    [InlineData("update")]
    [InlineData("note")]
    [InlineData("action")]
    public void Parse_TextCommandWithoutText_Fails(string text) => Assert.StartsWith("Usage:", Failure(text));

    [Fact]
    public void Parse_ActionWithOwner_SplitsOwner()
    {
        var action = Assert.IsType<AddActionItemCommand>(Parsed("action Add alert on queue depth <@U42>"));
        Assert.Equal("Add alert on queue depth", action.Text);
        Assert.Equal("<@U42>", action.OwnerToken);
    }

    [Fact]
    public void Parse_ActionWithoutOwner_KeepsText()
    {
        var action = Assert.IsType<AddActionItemCommand>(Parsed("action write a runbook for me"));
        Assert.Equal("write a runbook for me", action.Text);
        Assert.Null(action.OwnerToken);
    }

    [Theory]
    [InlineData("page", null, null)]
    [InlineData("page 2", 2, null)]
    [InlineData("page <@U1>", null, "<@U1>")]
    public void Parse_Page_TakesLevelOrUser(string text, int? level, string? user)
    {
        var page = Assert.IsType<PageCommand>(Parsed(text));
        Assert.Equal(level, page.Level);
        Assert.Equal(user, page.UserToken);
    }

    [Theory]
    [InlineData("snooze 30", 30)]
    [InlineData("snooze 5m", 5)]
    public void Parse_Snooze_TakesMinutes(string text, int minutes) =>
        Assert.Equal(minutes, Assert.IsType<SnoozeCommand>(Parsed(text)).Minutes);

    [Theory]
    [InlineData("snooze")]
    [InlineData("snooze soon")]
    [InlineData("snooze -5")]
    public void Parse_BadSnooze_Fails(string text) => Assert.Contains("snooze <minutes>", Failure(text));

    [Fact]
    public void Parse_ResolveWithSummary_KeepsSummary() =>
        Assert.Equal("bad config pushed", Assert.IsType<ResolveCommand>(Parsed("resolve bad config pushed")).Summary);

    [Fact]
    public void Parse_ResolveAlone_HasNoSummary() =>
        Assert.Null(Assert.IsType<ResolveCommand>(Parsed("resolve")).Summary);

    [Fact]
    public void Parse_Link_TakesTarget() =>
        Assert.Equal(new IncidentNumber(42), Assert.IsType<LinkCommand>(Parsed("link INC-42")).Target);

    [Fact]
    public void Parse_LinkWithoutNumber_Fails() => Assert.Contains("link <INC-N>", Failure("link tomorrow"));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("help")]
    public void Parse_EmptyOrHelp_IsHelp(string text) => Assert.IsType<HelpCommand>(Parsed(text));

    [Fact]
    public void Parse_UnknownVerb_NamesItAndListsCommands()
    {
        var error = Failure("explode now");
        Assert.Contains("`explode`", error);
        Assert.Contains("/incident declare", error);
    }

    [Theory]
    [InlineData("ack now")]
    [InlineData("reopen please")]
    [InlineData("status INC-3 on-fire")]
    public void Parse_ExtraOrWrongArguments_Fails(string text) => Assert.StartsWith("Usage:", Failure(text));

    [Fact]
    public void HelpText_ListsEveryVerb()
    {
        var help = CommandGrammar.HelpText("/incident ");
        foreach (var verb in CommandGrammar.Verbs)
        {
            Assert.Contains("/incident " + verb.Usage, help);
        }
    }

    [Fact]
    public void Parse_DeclarePrivate_IsAPrivateDeclare()
    {
        var declare = Assert.IsType<DeclareCommand>(CommandParser.Parse("declare private sev1 Payroll export leaked").Command);
        Assert.Equal(new DeclareCommand(Severity.Sev1, "Payroll export leaked", Private: true), declare);
        Assert.Equal(new OpenDeclareFormCommand(Private: true), CommandParser.Parse("declare private").Command);
        Assert.False(Assert.IsType<DeclareCommand>(CommandParser.Parse("declare sev2 private beta is down").Command).Private);
        Assert.IsType<MakePrivateCommand>(CommandParser.Parse("private").Command);
        Assert.StartsWith("Usage:", CommandParser.Parse("private please").Error);
    }
}
