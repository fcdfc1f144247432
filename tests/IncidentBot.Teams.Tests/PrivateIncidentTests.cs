using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Teams;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// Private incidents and permissions seen from Teams: a private incident's war room is a group chat made through Graph
/// (fake, real HTTP) with the app installed into it; the leak tests (every connector and Graph call the bot made) and the
/// refusals.
/// </summary>
public sealed class PrivateIncidentTests : IAsyncLifetime
{
    private const string IncidentsChannel = "19:incidents@thread.tacv2";
    private const string OpsChannel = "19:ops@thread.tacv2";
    private const string Title = "Payroll export leaked";
    private const string Secret = "bucket payroll-2026 is world readable";
    private const string FallbackMember = "6a7b8c9d-0000-4000-8000-00000000fa11";

    private readonly SqliteTestDatabase _database = new();
    private FakeGraph _graph = null!;
    private TeamsWorld _world = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _graph = await FakeGraph.StartAsync();
        _graph.AppResourceSpecificPermissions = ManifestRsc();
        _world = await StartWorldAsync(graph: true, fallback: true);
    }

    public async Task DisposeAsync()
    {
        await _world.DisposeAsync();
        await _graph.DisposeAsync();
        await _database.DisposeAsync();
    }

    /// <summary>The host on the shared database: Graph configured for private chats or not, with the fallback member or not, meeting bridges or not.</summary>
    private async Task<TeamsWorld> StartWorldAsync(bool graph, bool fallback, bool bridges = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Teams:IncidentsChannelId"] = IncidentsChannel,
            ["Teams:GraphBaseUrl"] = _graph.GraphBaseUrl,
            ["Teams:GraphTokenEndpoint"] = _graph.TokenEndpoint,
            ["Teams:MaxRetries"] = "0",
        };
        if (graph)
        {
            settings["Teams:AppCatalogId"] = _graph.CatalogAppId;
        }

        if (fallback)
        {
            settings["Teams:PrivateChatFallbackMemberId"] = FallbackMember;
        }

        if (bridges)
        {
            settings["Teams:MeetingOrganizerId"] = FallbackMember;
        }

        var world = await TeamsWorld.StartAsync(_database, settings: settings);
        foreach (var user in new[] { TeamsWorld.Ann, TeamsWorld.Bo, TeamsWorld.Cy })
        {
            world.Connector.AddMember(user.Mri, user.AadObjectId, user.Name);
        }

        return world;
    }

    /// <summary>What the app definition in the catalog asks to be consented: the manifest's resource-specific permissions.</summary>
    private static List<(string Name, string Type)> ManifestRsc() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(CardTests.RepositoryRoot(), "manifests", "teams", "manifest.json")))!
            ["authorization"]!["permissions"]!["resourceSpecific"]!.AsArray()
            .Select(p => ((string)p!["name"]!, (string)p["type"]!)).ToList();

    private async Task<string> SayAsync(string conversation, string text, TeamsUser? from = null)
    {
        var before = _world.Connector.Calls.Count;
        await _world.PostAsync(_world.Activities.Command(conversation, from ?? TeamsWorld.Ann, text));
        var calls = await _world.Connector.WaitForAsync(c => c.Count > before && c.Skip(before).Any(x => x.ConversationId == conversation), what: $"the answer to `{text}`");
        return string.Join("\n", calls.Skip(before).Where(x => x.ConversationId == conversation).Select(x => x.Body?.ToJsonString()));
    }

    [Fact]
    public async Task LeakTest_PrivateIncidentPokedFromATeamsChannel_NoCallNamesItOrItsWarRoom()
    {
        // Declared privately from Slack: its war room is a private Slack channel.
        var service = _world.Services.GetRequiredService<IncidentService>();
        var room = new ChatSpace("slack", "CPRIVATE1");
        var ann = new Person("slack", "UANN", "Ann");
        await service.DeclareAsync(new DeclareRequest(Title, Severity.Sev1) { IsPrivate = true, WarRoom = room }, new Actor(ann), default);
        await service.AddNoteAsync(new IncidentNumber(1), Secret, new Actor(ann, room), default);

        var answers = new List<string>();
        foreach (var text in new[] { "list", "timeline INC-1", "postmortem INC-1", "resolve INC-1", "ack INC-1", "note INC-1 hi", "link INC-1", "private INC-1" })
        {
            answers.Add(await SayAsync(OpsChannel, text));
        }

        Assert.Contains(answers, a => a.Contains("INC-1 is private", StringComparison.Ordinal));
        Assert.All(_world.Connector.Calls, c =>
        {
            var body = c.Body?.ToJsonString() ?? "";
            Assert.DoesNotContain("Payroll", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("payroll-2026", body, StringComparison.Ordinal);
            Assert.DoesNotContain("CPRIVATE1", body, StringComparison.Ordinal);
        });
        var incident = await _world.IncidentAsync(1);
        Assert.Null(incident.AcknowledgedAt);
        Assert.False(incident.IsResolved);
        Assert.Equal([room], incident.WarRooms);
    }

    [Fact]
    public async Task DeclarePrivate_ByMention_GroupChatOfThePeopleNumberOnlyTopicAppInstalledCardThereAnswerTitleless()
    {
        var answer = await SayAsync(OpsChannel, $"declare private sev1 {Title}");

        var chat = await WaitForChatCardAsync();
        Assert.Equal("group", chat.ChatType);
        Assert.Equal("inc-1", chat.Topic);
        Assert.Equal([TeamsWorld.Ann.AadObjectId, FallbackMember], chat.MemberIds);
        Assert.Equal([_graph.CatalogAppId], chat.InstalledApps);
        var create = _graph.Calls.Single(c => c.Path == "/v1.0/chats");
        Assert.All(create.Body!["members"]!.AsArray(), m => Assert.Equal(["owner"], m!["roles"]!.AsArray().Select(r => (string)r!)));
        Assert.StartsWith(_graph.GraphBaseUrl + "users('", (string?)create.Body["members"]![0]!["user@odata.bind"], StringComparison.Ordinal);

        // The card went into the chat through the connector, after the app was installed there.
        var install = _graph.Calls.Single(c => c.Path.EndsWith("/installedApps", StringComparison.Ordinal));
        Assert.Equal(201, install.Status);
        var card = _world.Connector.CallsTo(chat.Id)[0];
        Assert.True(card.ReceivedAt >= install.ReceivedAt);
        Assert.Contains(Title, card.Card!.ToJsonString(), StringComparison.Ordinal);

        // The answer where it was declared names the number, not the title; no thread opens in the incidents channel.
        Assert.Contains("INC-1: a private incident was declared", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("Payroll", answer, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_world.Connector.Calls, c => c.Operation == ConnectorOperation.CreateConversation);
        var incident = await _world.IncidentAsync(1);
        Assert.True(incident.IsPrivate);
        Assert.Equal([new ChatSpace(TeamsIds.Platform, chat.Id)], incident.WarRooms);
    }

    [Fact]
    public async Task DeclarePrivate_ByForm_ChatOfDeclarerCommanderAndRespondersFormReplacedWithoutTitle()
    {
        var form = await _world.PostInvokeAsync(_world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "declare", new JsonObject
        {
            ["verb"] = "declare",
            ["title"] = Title,
            ["severity"] = "sev2",
            ["commander"] = TeamsWorld.Bo.AadObjectId,
            ["responders"] = TeamsWorld.Cy.AadObjectId,
            ["private"] = "true",
        }, replyToId: "1700000000999"));

        var chat = await WaitForChatCardAsync();
        Assert.Equal([TeamsWorld.Ann.AadObjectId, TeamsWorld.Bo.AadObjectId, TeamsWorld.Cy.AadObjectId], chat.MemberIds);
        Assert.Equal("inc-1", chat.Topic);
        Assert.Equal([_graph.CatalogAppId], chat.InstalledApps);
        Assert.DoesNotContain("Payroll", form.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("private incident was declared", form.ToJsonString(), StringComparison.Ordinal);
        var answer = await _world.Connector.WaitForAsync(c => c.Any(x => x.ConversationId == OpsChannel && x.Operation == ConnectorOperation.Reply), what: "the answer");
        var said = string.Join("\n", answer.Where(x => x.ConversationId == OpsChannel).Select(x => x.Body?.ToJsonString()));
        Assert.DoesNotContain("Payroll", said, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Bo", said, StringComparison.Ordinal);
        Assert.Equal(TeamsWorld.Bo.AadObjectId, (await _world.IncidentAsync(1)).RoleHolder(IncidentRole.Commander)?.UserId);
    }

    [Fact]
    public async Task DeclarePrivate_ByMentionAloneWithoutFallback_AnswersTheFormWithPrivateOnAndDeclaresNothing()
    {
        await _world.DisposeAsync();
        _world = await StartWorldAsync(graph: true, fallback: false);

        var answer = await SayAsync(OpsChannel, $"declare private sev1 {Title}");

        Assert.Contains("needs at least two people", answer, StringComparison.Ordinal);
        Assert.Contains("\"id\":\"private\"", answer, StringComparison.Ordinal);
        Assert.Contains("\"value\":\"true\"", answer, StringComparison.Ordinal);
        Assert.Null(await _world.Store.GetAsync(new IncidentNumber(1), default));
        Assert.Empty(_graph.Calls);
    }

    [Fact]
    public async Task DeclarePrivate_GraphNotConfigured_RefusedNamingTheKeys()
    {
        await _world.DisposeAsync();
        _world = await StartWorldAsync(graph: false, fallback: true);

        var answer = await SayAsync(OpsChannel, $"declare private sev1 {Title}");
        var form = await _world.PostInvokeAsync(_world.Activities.CardAction(OpsChannel, TeamsWorld.Ann, "declare", new JsonObject
        {
            ["verb"] = "declare", ["title"] = Title, ["commander"] = TeamsWorld.Bo.AadObjectId, ["private"] = "true",
        }, replyToId: "1700000000999"));

        Assert.Contains("Teams:AppCatalogId", answer, StringComparison.Ordinal);
        Assert.Contains("Teams:AppCatalogId", form.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(await _world.Store.GetAsync(new IncidentNumber(1), default));
        Assert.Empty(_graph.Calls);
    }

    [Fact]
    public async Task Private_TypedInATeamsWarRoomGraphNotConfigured_RefusedAndTheIncidentStaysPublic()
    {
        await _world.DisposeAsync();
        _world = await StartWorldAsync(graph: false, fallback: true);
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        var thread = (await WaitForWarRoomAsync()).WarRooms.Single().Channel;

        var answer = await SayAsync(thread, "private");

        Assert.Contains("Teams:AppCatalogId", answer, StringComparison.Ordinal);
        Assert.False((await _world.IncidentAsync(1)).IsPrivate);
    }

    [Fact]
    public async Task DeclarePrivate_GraphUnavailable_UserToldIncidentKeptChatMadeOnTheOutboxRetry()
    {
        _graph.FailNext(1, 503);

        var answer = await SayAsync(OpsChannel, $"declare private sev1 {Title}");

        Assert.Contains("INC-1: a private incident was declared", answer, StringComparison.Ordinal);
        Assert.True((await _world.IncidentAsync(1)).IsPrivate);
        var told = await _world.Connector.WaitForAsync(
            c => c.Any(x => x.ConversationId == OpsChannel && (x.Text ?? "").Contains("not answering", StringComparison.Ordinal)), what: "the outage told");
        var chat = await WaitForChatCardAsync();
        Assert.Single(_graph.Chats);
        Assert.Contains(_graph.Calls, c => c.Path == "/v1.0/chats" && c.Status == 503);
        Assert.Single(told, x => x.ConversationId == OpsChannel && (x.Text ?? "").Contains("not answering", StringComparison.Ordinal));
        Assert.All(told.Where(x => x.ConversationId != chat.Id), x => Assert.DoesNotContain("Payroll", x.Body?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task DeclarePrivate_GraphRefuses_ToldWhereDeclaredAndOnTheTimelineWithoutTitle()
    {
        _graph.FailNext(1, 403);

        await SayAsync(OpsChannel, $"declare private sev1 {Title}");

        var calls = await _world.Connector.WaitForAsync(
            c => c.Any(x => x.ConversationId == OpsChannel && (x.Text ?? "").Contains("Chat.Create", StringComparison.Ordinal)), what: "the refusal told");
        Assert.All(calls, x => Assert.DoesNotContain("Payroll", x.Body?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase));
        var timeline = await _world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.Contains("Could not open the private chat", StringComparison.Ordinal)));
        Assert.Contains(timeline, e => e.Text.Contains("403", StringComparison.Ordinal));
        Assert.Empty(_graph.Chats);
    }

    /// <summary>
    /// <c>private</c> typed in the war-room thread of a public incident declared from Teams: a group chat for its declarer
    /// and whoever typed it, the card there, the pointer (no title) in the thread, and nothing more there afterwards.
    /// </summary>
    [Fact]
    public async Task Private_TypedInATeamsWarRoom_NewChatPointerInTheThreadThenNothingThere()
    {
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        var thread = (await WaitForWarRoomAsync()).WarRooms.Single().Channel;
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the thread's card");

        var before = _world.Connector.Calls.Count;
        await _world.PostAsync(_world.Activities.Command(thread, TeamsWorld.Bo, "private"));

        var chat = await WaitForChatCardAsync();
        Assert.Equal([TeamsWorld.Ann.AadObjectId, TeamsWorld.Bo.AadObjectId], chat.MemberIds);
        Assert.Equal("inc-1", chat.Topic);
        var pointer = await _world.Connector.WaitForAsync(
            c => c.Skip(before).Any(x => x.ConversationId == thread && (x.Text ?? "").Contains("is private now", StringComparison.Ordinal)), what: "the pointer");
        Assert.DoesNotContain("Checkout", pointer.Skip(before).Single(x => (x.Text ?? "").Contains("is private now", StringComparison.Ordinal)).Text!, StringComparison.Ordinal);
        var incident = await _world.IncidentAsync(1);
        Assert.True(incident.IsPrivate);
        Assert.Contains(new ChatSpace(TeamsIds.Platform, chat.Id), incident.WarRooms);

        // Afterwards: an update typed in the chat is heard there, never in the old thread.
        var afterPointer = _world.Connector.Calls.Count;
        await _world.PostAsync(_world.Activities.Command(chat.Id, TeamsWorld.Ann, $"update {Secret}", conversationType: "groupChat"));
        await WaitForTeamsLaneAsync("update_posted");
        await _world.Connector.WaitForAsync(c => c.Skip(afterPointer).Any(x => x.ConversationId == chat.Id), what: "the update's card in the chat");
        Assert.DoesNotContain(_world.Connector.Calls.Skip(afterPointer), x => x.ConversationId == thread);
        Assert.Contains(await _world.TimelineAsync(1), e => e.Text.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bridge_AskedInThePrivateChat_NeitherCardNorLinkReachTheThreadTheIncidentLeft()
    {
        await _world.DisposeAsync();
        _world = await StartWorldAsync(graph: true, fallback: true, bridges: true);
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the thread's card");
        var thread = (await WaitForWarRoomAsync()).WarRooms.First(r => r.Channel.StartsWith(IncidentsChannel, StringComparison.Ordinal)).Channel;
        await _world.PostAsync(_world.Activities.Command(thread, TeamsWorld.Bo, "private"));
        var chat = await WaitForChatCardAsync();
        await _world.Connector.WaitForAsync(c => c.Any(x => x.ConversationId == thread && (x.Text ?? "").Contains("is private now", StringComparison.Ordinal)), what: "the pointer");
        var earlier = _graph.Meetings.Select(m => m.Id).ToHashSet();

        var afterPointer = _world.Connector.Calls.Count;
        await _world.PostAsync(_world.Activities.Command(chat.Id, TeamsWorld.Ann, "bridge", conversationType: "groupChat"));
        // The declare's own bridge may post its link into the chat late; wait for the link of the bridge asked for here.
        await Eventually.HoldsAsync(() => Task.FromResult(_graph.Meetings.Count == earlier.Count + 1), "the new bridge made");
        var bridge = _graph.Meetings.Single(m => !earlier.Contains(m.Id));
        await _world.Connector.WaitForAsync(
            c => c.Skip(afterPointer).Any(x => x.ConversationId == chat.Id && (x.Text ?? "").Contains(bridge.JoinUrl, StringComparison.Ordinal)),
            what: "the new bridge's link in the private chat");

        Assert.Equal("INC-1", bridge.Subject);
        Assert.DoesNotContain(_world.Connector.Calls.Skip(afterPointer), x => x.ConversationId == thread);
    }

    /// <summary>
    /// The Teams leak test for an incident declared privately from Teams: every connector activity and every Graph call the
    /// bot made while people declare it, talk in its chat and poke at it from a channel; the title and what was said in the
    /// chat appear only in calls to the chat.
    /// </summary>
    [Fact]
    public async Task LeakTest_PrivateIncidentDeclaredFromTeams_TitleAndWarRoomWordsOnlyInsideItsChat()
    {
        await SayAsync(OpsChannel, $"declare private sev1 {Title}");
        var chat = await WaitForChatCardAsync();
        await _world.PostAsync(_world.Activities.Message(chat.Id, TeamsWorld.Ann, Secret, conversationType: "groupChat"));
        await _world.PostAsync(_world.Activities.Command(chat.Id, TeamsWorld.Ann, "update payroll-2026 locked down", conversationType: "groupChat"));
        await _world.WaitForTimelineAsync(1, t => t.Any(e => e.Text.Contains(Secret, StringComparison.Ordinal)));
        await WaitForTeamsLaneAsync("update_posted");

        var answers = new List<string>();
        // Cy is in neither the incident nor its chat (its declarer linking a channel would be trust, as documented).
        foreach (var text in new[] { "list", "timeline INC-1", "postmortem INC-1", "resolve INC-1", "note INC-1 hi", "link INC-1", "sev INC-1 2" })
        {
            answers.Add(await SayAsync(OpsChannel, text, TeamsWorld.Cy));
        }

        Assert.Contains(answers, a => a.Contains("INC-1 is private", StringComparison.Ordinal));
        Assert.Contains(_world.Connector.CallsTo(chat.Id), c => (c.Body?.ToJsonString() ?? "").Contains(Title, StringComparison.Ordinal));
        Assert.All(_world.Connector.Calls.Where(c => c.ConversationId != chat.Id), c =>
        {
            var body = c.Body?.ToJsonString() ?? "";
            Assert.DoesNotContain("Payroll", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("payroll-2026", body, StringComparison.Ordinal);
        });
        Assert.All(_graph.Calls, c => Assert.DoesNotContain("payroll", c.Body?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase));
        Assert.False((await _world.IncidentAsync(1)).IsResolved);
    }

    /// <summary>The chat Graph made for INC-1, once its card was posted there.</summary>
    private async Task<IncidentBot.TestKit.Teams.GraphChat> WaitForChatCardAsync()
    {
        await _graph.WaitForAsync(c => c.Any(x => x.Path == "/v1.0/chats" && x.Status == 201), TimeSpan.FromSeconds(20), "the private chat");
        var chat = _graph.Chats.Single();
        await _world.Connector.WaitForAsync(c => c.Any(x => x.ConversationId == chat.Id && x.Card is not null), TimeSpan.FromSeconds(20), "the card in the chat");
        return chat;
    }

    /// <summary>
    /// A Slack incident with a Teams conversation linked turns private (typed in its Slack war room): the Teams room, seen
    /// beyond the people named, gets Core's pointer without the title and hears nothing more of the incident.
    /// </summary>
    [Fact]
    public async Task MadePrivateElsewhere_LinkedTeamsRoom_GetsThePointerThenNothing()
    {
        await SayAsync(OpsChannel, "help"); // the bot knows a conversation once it was spoken to there
        var service = _world.Services.GetRequiredService<IncidentService>();
        var slackRoom = new ChatSpace("slack", "CPUBLIC1");
        var ann = new Person("slack", "UANN", "Ann");
        await service.DeclareAsync(new DeclareRequest(Title, Severity.Sev2) { WarRoom = slackRoom }, new Actor(ann), default);
        var linkedAt = _world.Connector.Calls.Count;
        await service.LinkWarRoomAsync(new IncidentNumber(1), new ChatSpace(TeamsIds.Platform, OpsChannel), new Actor(ann, slackRoom), default);
        await _world.Connector.WaitForAsync(c => c.Skip(linkedAt).Any(x => x.ConversationId == OpsChannel), what: "the card in the linked Teams room");
        var before = _world.Connector.Calls.Count;

        await service.MakePrivateAsync(new IncidentNumber(1), new Actor(ann, slackRoom), default);
        var calls = await _world.Connector.WaitForAsync(
            c => c.Skip(before).Any(x => x.ConversationId == OpsChannel && (x.Body?.ToJsonString() ?? "").Contains("is private now", StringComparison.Ordinal)),
            what: "the pointer in the Teams room");
        await service.PostUpdateAsync(new IncidentNumber(1), Secret, new Actor(ann, slackRoom), default);
        await WaitForTeamsLaneAsync("update_posted");

        var after = _world.Connector.Calls.Skip(before).ToList();
        Assert.All(after, c => Assert.DoesNotContain("Payroll", c.Body?.ToJsonString() ?? "", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(after, c => (c.Body?.ToJsonString() ?? "").Contains("payroll-2026", StringComparison.Ordinal));
        Assert.Single(calls.Skip(before), c => c.ConversationId == OpsChannel && (c.Body?.ToJsonString() ?? "").Contains("is private now", StringComparison.Ordinal));
    }

    /// <summary>Waits until the Teams lane has handled an event of <paramref name="eventType"/> (delivered, or skipped).</summary>
    private async Task WaitForTeamsLaneAsync(string eventType)
    {
        for (var i = 0; i < 200; i++)
        {
            await using var connection = await _world.Services.GetRequiredService<IncidentBot.Storage.IDbConnectionFactory>().OpenConnectionAsync(default);
            var done = await Dapper.SqlMapper.ExecuteScalarAsync<long>(
                connection,
                "SELECT count(*) FROM outbox_deliveries d JOIN outbox o ON o.id = d.message_id WHERE d.handler = 'teams' AND d.done_at IS NOT NULL AND o.event_type = @EventType",
                new { EventType = eventType });
            if (done > 0)
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"The Teams lane never handled {eventType}.");
    }

    [Fact]
    public async Task ResolveFromAnotherChannel_PublicIncidentWithAWarRoom_Refused()
    {
        await SayAsync(OpsChannel, "declare sev2 Checkout is down");
        await _world.Connector.WaitForAsync(c => c.Any(x => x.Operation == ConnectorOperation.CreateConversation), what: "the war-room thread");
        var incident = await WaitForWarRoomAsync();

        var answer = await SayAsync(OpsChannel, "resolve INC-1");

        Assert.Contains("INC-1 is changed only in its war room.", answer, StringComparison.Ordinal);
        Assert.False((await _world.IncidentAsync(1)).IsResolved);
        Assert.NotEmpty(incident.WarRooms);
    }

    private async Task<Incident> WaitForWarRoomAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            var incident = await _world.IncidentAsync(1);
            if (incident.WarRooms.Count > 0)
            {
                return incident;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("INC-1 never got its war-room thread.");
    }
}
