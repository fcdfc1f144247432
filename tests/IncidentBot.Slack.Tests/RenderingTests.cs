using System.Text.Json.Nodes;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Outbound;
using IncidentBot.Slack.Rendering;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

public sealed class RenderingTests
{
    private static readonly Person Ann = new("slack", "UANN", "ann");

    private static Incident LongIncident()
    {
        var title = string.Concat(Enumerable.Repeat("Checkout 💥 latency ", 12));
        var declared = Incident.Declare(new IncidentNumber(42), title, new string('d', 5000), Severity.Sev1, Ann, DateTimeOffset.UtcNow, new UpdateCadence());
        return declared with { Roles = new Dictionary<IncidentRole, Person> { [IncidentRole.Commander] = new("slack", "UBOB", "bob"), [IncidentRole.Comms] = new("teams", "29:x", new string('n', 3000)) } };
    }

    [Fact]
    public void Card_LongTitleAndDescription_WithinBlockKitLimits()
    {
        var card = SlackRenderer.Card(LongIncident());

        Assert.Null(BlockKitLimits.CheckMessageBlocks(card.Blocks));
        Assert.Contains("<@UBOB>", card.Blocks.Raw(), StringComparison.Ordinal);
        Assert.True(card.Text.Length <= BlockKit.MaxMessageText);
    }

    [Fact]
    public void Card_OpenAndResolved_PostmortemButtonWithinLimits()
    {
        var open = LongIncident();
        var resolved = open with { Status = IncidentStatus.Resolved, ResolvedAt = DateTimeOffset.UtcNow };

        foreach (var card in new[] { SlackRenderer.Card(open), SlackRenderer.Card(resolved) })
        {
            Assert.Null(BlockKitLimits.CheckMessageBlocks(card.Blocks));
            var button = card.Blocks!.SelectMany(b => b!["elements"] as JsonArray ?? []).Single(e => (string?)e!["action_id"] == SlackIds.PostmortemAction)!;
            Assert.Equal("INC-42", (string?)button["value"]);
        }

        Assert.DoesNotContain(SlackIds.ResolveAction, SlackRenderer.Card(resolved).Blocks.Raw(), StringComparison.Ordinal);
    }

    [Fact]
    public void Postmortem_Links_MrkdwnLinksWithinLimits()
    {
        var message = SlackRenderer.Postmortem(new IncidentNumber(7), new Uri("https://x.example/incidents/INC-7"), new Uri("https://x.example/incidents/INC-7/postmortem.md"), "unused");

        Assert.Null(BlockKitLimits.CheckMessageBlocks(message.Blocks));
        Assert.Contains("<https://x.example/incidents/INC-7|Open it on the dashboard>", message.Blocks.Raw(), StringComparison.Ordinal);
        Assert.StartsWith("Postmortem draft for INC-7: https://x.example/incidents/INC-7", message.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeline_TwoHundredLongEntries_TruncatedCleanlyWithinLimits()
    {
        var incident = LongIncident();
        var entries = Enumerable.Range(0, 200)
            .Select(i => new TimelineEntry(i, 1, DateTimeOffset.UtcNow.AddMinutes(i), TimelineKind.Message, Ann, $"entry {i} " + new string('x', 4000), i % 7 == 0, null))
            .ToList();
        var reply = new CommandReply(ReplyKind.Timeline, "Timeline of INC-42: 200 entries.") { Incident = incident, Timeline = entries };

        var blocks = SlackRenderer.Timeline(reply);

        Assert.Null(BlockKitLimits.CheckMessageBlocks(blocks));
        Assert.Equal(BlockKit.MaxMessageBlocks, blocks.Count);
        Assert.Contains("152 earlier entries not shown", blocks.Raw(), StringComparison.Ordinal);
        Assert.Contains("entry 199", blocks[^1].Raw(), StringComparison.Ordinal);
    }

    [Fact]
    public void List_ManyIncidents_WithinLimits()
    {
        var incidents = Enumerable.Range(1, 120).Select(_ => LongIncident()).ToList();
        var message = SlackRenderer.Reply(new CommandReply(ReplyKind.List, "120 open incident(s).") { Incidents = incidents }, inWarRoom: false);

        Assert.Null(BlockKitLimits.CheckMessageBlocks(message.Blocks));
        Assert.Contains("more incidents not shown", message.Blocks.Raw(), StringComparison.Ordinal);
    }

    [Fact]
    public void Modals_DeclareAndUpdate_ValidViews()
    {
        Assert.Null(BlockKitLimits.CheckView(SlackRenderer.DeclareModal("CGENERAL")));
        Assert.Null(BlockKitLimits.CheckView(SlackRenderer.UpdateModal(new IncidentNumber(123456), "C0123456789")));
    }

    [Fact]
    public void EventPost_EveryEventKind_WithinLimits()
    {
        var big = new string('z', 5000);
        IncidentEvent[] events =
        [
            new RoleAssigned(IncidentRole.Scribe, Ann, null), new SeverityChanged(Severity.Sev3, Severity.Sev1), new StatusChanged(IncidentStatus.Investigating, IncidentStatus.Identified),
            new UpdatePosted(big), new IncidentAcknowledged(), new IncidentResolved(big), new IncidentReopened(), new PageRequested(2, null),
            new UpdateSnoozed(DateTimeOffset.UtcNow), new ActionItemAdded(big, Ann), new UpdateReminderDue(DateTimeOffset.UtcNow, 3, Ann, null),
            new CommanderMissing(DateTimeOffset.UtcNow), new IncidentEscalated(2, ["pagerduty"], big),
            new IncidentAcknowledged { Pager = "PagerDuty" }, new IncidentResolved(null) { Pager = "Opsgenie" }, new UpdateReminderDue(DateTimeOffset.UtcNow, 1, null, null),
        ];

        foreach (var incidentEvent in events)
        {
            var post = SlackRenderer.EventPost(incidentEvent with { Number = new IncidentNumber(9), Actor = Ann });
            Assert.NotNull(post);
            Assert.Null(BlockKitLimits.CheckMessageBlocks(post.Blocks));
        }
    }

    [Fact]
    public void Truncate_SurrogatePairAtCut_NotSplit()
    {
        var text = new string('a', 2999) + "💥💥";
        var cut = BlockKit.Truncate(text, 3000);
        Assert.True(cut.Length <= 3000);
        Assert.False(char.IsHighSurrogate(cut[^2]));
        Assert.EndsWith("…", cut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Checkout is down", 1, "inc-7-checkout-is-down")]
    [InlineData("Ümlaut & Café: 50% errors!!", 1, "inc-7-umlaut-cafe-50-errors")]
    [InlineData("Checkout is down", 3, "inc-7-checkout-is-down-3")]
    [InlineData("!!!", 1, "inc-7")]
    [InlineData("snake_case_name", 1, "inc-7-snake_case_name")]
    public void ChannelName_Title_SlackSafe(string title, int variant, string expected) =>
        Assert.Equal(expected, ChannelNames.For("inc", new IncidentNumber(7), title, variant));

    [Fact]
    public void ChannelName_VeryLongTitle_AtMost80WithVariantKept()
    {
        var name = ChannelNames.For("inc", new IncidentNumber(123456), new string('a', 300), 12);
        Assert.True(name.Length <= ChannelNames.MaxLength);
        Assert.EndsWith("-12", name, StringComparison.Ordinal);
        Assert.Matches("^[a-z0-9_-]+$", name);
    }

    [Theory]
    [InlineData("1712345678.123456", 1712345678_123456L)]
    [InlineData("1712345678.000001", 1712345678_000001L)]
    public void SlackTs_Parse_Microseconds(string ts, long micros)
    {
        Assert.True(SlackTs.TryParse(ts, out var time));
        Assert.Equal(micros, (time - DateTimeOffset.UnixEpoch).Ticks / 10);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1.5")]
    public void SlackTs_Invalid_False(string ts) => Assert.False(SlackTs.TryParse(ts, out _));

    [Fact]
    public void FakeLimits_OversizedButton_Rejected()
    {
        var blocks = new JsonArray(BlockKit.Actions("b", [new JsonObject { ["type"] = "button", ["action_id"] = "a", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = new string('x', 76) } }]));
        Assert.NotNull(BlockKitLimits.CheckMessageBlocks(blocks));
    }
}

public sealed class SlackOptionsValidatorTests
{
    [Fact]
    public void Validate_NothingSet_Succeeds() =>
        Assert.True(new SlackOptionsValidator().Validate(null, new SlackOptions()).Succeeded);

    [Theory]
    [InlineData(null, "s3cret", null, "Slack:BotToken")]
    [InlineData("xoxb-1", null, null, "Slack:SigningSecret")]
    [InlineData("xoxb-1", null, "xoxb-wrong", "Slack:AppToken")]
    public void Validate_IncompleteSettings_NamesTheKey(string? bot, string? secret, string? app, string key)
    {
        var result = new SlackOptionsValidator().Validate(null, new SlackOptions { BotToken = bot, SigningSecret = secret, AppToken = app });
        Assert.True(result.Failed);
        Assert.Contains(key, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://slack.example.com/api/")]
    [InlineData("not a url")]
    public void Validate_InsecureOrBadApiBaseUrl_Fails(string url)
    {
        var result = new SlackOptionsValidator().Validate(null, new SlackOptions { BotToken = "xoxb-1", SigningSecret = "s", ApiBaseUrl = url });
        Assert.Contains("Slack:ApiBaseUrl", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadPrefixAndReactions_Fails()
    {
        var result = new SlackOptionsValidator().Validate(null, new SlackOptions { BotToken = "xoxb-1", SigningSecret = "s", ChannelPrefix = "INC!", PinReactions = [":pushpin:"] });
        Assert.Contains("Slack:ChannelPrefix", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Slack:PinReactions", result.FailureMessage, StringComparison.Ordinal);
    }
}
