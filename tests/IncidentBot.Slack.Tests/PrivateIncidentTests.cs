using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Rendering;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>Private incidents and permissions in Slack, against the real host and the fake Slack.</summary>
public sealed class PrivateIncidentTests : IAsyncLifetime
{
    private const string Ann = "UANN00001";
    private const string Bob = "UBOB00001";
    private const string Eve = "UEVE00001";
    private const string Title = "Payroll export leaked";
    private const string Secret = "bucket payroll-2026 is world readable";

    private readonly SqliteTestDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;
    private FakeChannel _announcements = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _announcements = _slack.AddChannel("incidents");
        foreach (var (id, name) in new[] { (Ann, "ann"), (Bob, "bob"), (Eve, "eve") })
        {
            _slack.AddUser(id, name);
            _general.Members[id] = 0;
        }
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    private SlackHost StartHost(string privateAnnouncement = "none") => SlackHost.Start(_database, _slack, socketMode: false, new Dictionary<string, string?>
    {
        ["Slack:AnnouncementsChannel"] = _announcements.Id,
        ["Slack:PrivateAnnouncement"] = privateAnnouncement,
        ["Dashboard:PublicUrl"] = "https://incidents.example.com/",
    });

    private async Task<(JsonElement Reply, Incident Incident, string Room)> DeclarePrivateAsync(SlackHost host)
    {
        var reply = await host.Transport.CommandAsync(SlackPayloads.Command($"declare private sev1 {Title}", Ann, "ann", _general.Id));
        var incident = await host.WaitForWarRoomAsync(new IncidentNumber(1));
        return (reply, incident, incident.WarRooms.Single().Channel);
    }

    [Fact]
    public async Task DeclarePrivate_PrivateChannelByNumber_OnlyTheDeclarerInvited_EphemeralReplyWithoutTitle()
    {
        await using var host = StartHost();

        var (reply, incident, room) = await DeclarePrivateAsync(host);

        Assert.True(incident.IsPrivate);
        Assert.Equal("ephemeral", reply.GetProperty("response_type").GetString());
        Assert.DoesNotContain("Payroll", reply.GetRawText(), StringComparison.Ordinal);
        var channel = _slack.Channels[room];
        Assert.Equal("inc-1", channel.Name);
        Assert.True(channel.IsPrivate);
        Assert.Equal([Ann, FakeSlackServer.BotUserId], channel.Members.Keys.Order(StringComparer.Ordinal));
        await FakeSlackServer.WaitUntilAsync(() => channel.Messages.Values.Any(m => m.Text.Contains(Title, StringComparison.Ordinal)), "the card inside");
        Assert.Empty(_announcements.Messages);
    }

    [Fact]
    public async Task DeclarePrivate_AnnouncementNumber_SaysOnlyTheNumber()
    {
        await using var host = StartHost(privateAnnouncement: "number");

        await DeclarePrivateAsync(host);

        await FakeSlackServer.WaitUntilAsync(() => !_announcements.Messages.IsEmpty, "the announcement");
        var announcement = _announcements.Messages.Values.Single();
        Assert.Equal("A private incident was declared: INC-1.", announcement.Text);
        Assert.DoesNotContain("Payroll", announcement.Blocks!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeclareModal_PrivateChecked_DeclaresPrivately()
    {
        await using var host = StartHost();
        var values = new JsonObject
        {
            ["title"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = Title } },
            ["responders"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "multi_users_select", ["selected_users"] = new JsonArray(Bob) } },
            [SlackRenderer.PrivateBlock] = new JsonObject
            {
                ["value"] = new JsonObject { ["type"] = "checkboxes", ["selected_options"] = new JsonArray(new JsonObject { ["value"] = SlackRenderer.PrivateValue }) },
            },
        };

        await host.Transport.InteractionAsync(SlackPayloads.ViewSubmission(Ann, "ann", SlackIds.DeclareView, _general.Id, values));

        var incident = await host.WaitForWarRoomAsync(new IncidentNumber(1));
        var channel = _slack.Channels[incident.WarRooms.Single().Channel];
        Assert.True(incident.IsPrivate);
        Assert.True(channel.IsPrivate);
        Assert.Equal([Ann, Bob, FakeSlackServer.BotUserId], channel.Members.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task DeclarePrivateWithoutTitle_OpensTheModalWithPrivateChecked()
    {
        await using var host = StartHost();

        await host.Transport.CommandAsync(SlackPayloads.Command("declare private", Ann, "ann", _general.Id, triggerId: "trigger-1"));

        var view = _slack.CallsTo("views.open").Single().Args["view"]!.ToJsonString();
        Assert.Contains("\"initial_options\"", view, StringComparison.Ordinal);
        Assert.Null(BlockKitLimits.CheckView(JsonNode.Parse(view)!.AsObject()));
    }

    [Fact]
    public async Task ResolveFromGeneral_PublicIncident_RefusedWithAPointerToTheWarRoom()
    {
        await using var host = StartHost();
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        var room = (await host.WaitForWarRoomAsync(new IncidentNumber(1))).WarRooms.Single().Channel;

        var reply = await host.Transport.CommandAsync(SlackPayloads.Command("resolve INC-1", Ann, "ann", _general.Id));

        Assert.Equal("ephemeral", reply.GetProperty("response_type").GetString());
        Assert.Equal($"INC-1 is changed only in its war room. War room · <#{room}>", reply.GetProperty("text").GetString());
        Assert.False((await host.Store.GetAsync(new IncidentNumber(1), default))!.IsResolved);
    }

    [Fact]
    public async Task Link_ByANonMember_Refused_ByAMemberOfTheWarRoom_Linked()
    {
        await using var host = StartHost();
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        var room = (await host.WaitForWarRoomAsync(new IncidentNumber(1))).WarRooms.Single().Channel;
        var ops = _slack.AddChannel("ops");

        var refused = await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Eve, "eve", ops.Id));
        _slack.Channels[room].Members[Eve] = 0;
        var linked = await host.Transport.CommandAsync(SlackPayloads.Command("link INC-1", Eve, "eve", ops.Id));

        Assert.Equal("Only members of the war room of INC-1 may link a conversation to it. War room · <#" + room + ">", refused.GetProperty("text").GetString());
        Assert.Contains(_slack.CallsTo("conversations.members"), c => c.Arg("channel") == room);
        Assert.Contains("now a war room of INC-1", linked.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CardButton_RestrictToRoles_NonHolderRefused()
    {
        await using var host = SlackHost.Start(_database, _slack, socketMode: false, new Dictionary<string, string?> { ["Permissions:RestrictToRoles"] = "true" });
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        var room = (await host.WaitForWarRoomAsync(new IncidentNumber(1))).WarRooms.Single().Channel;

        await host.Transport.InteractionAsync(SlackPayloads.BlockAction(Bob, "bob", room, "card:INC-1:state", SlackPayloads.ButtonAction(SlackIds.ResolveAction, "INC-1"), _slack.ResponseUrl("card-1")));

        await FakeSlackServer.WaitUntilAsync(() => _slack.Responses.Any(r => r.Id == "card-1"), "the answer on the response_url");
        Assert.Contains("role holders", _slack.Responses.Single(r => r.Id == "card-1").Body.ToJsonString(), StringComparison.Ordinal);
        Assert.False((await host.Store.GetAsync(new IncidentNumber(1), default))!.IsResolved);
    }

    [Fact]
    public async Task PrivateTypedInAPublicWarRoom_MovesToANewPrivateChannel_OldOneArchivedWithAPointer()
    {
        await using var host = StartHost();
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        var publicRoom = (await host.WaitForWarRoomAsync(new IncidentNumber(1))).WarRooms.Single().Channel;

        await host.Transport.CommandAsync(SlackPayloads.Command("private", Bob, "bob", publicRoom));

        var incident = await host.WaitForIncidentAsync(new IncidentNumber(1), i => i.IsPrivate && i.WarRooms.Count == 2, "the private war room linked");
        var privateRoom = _slack.Channels[incident.WarRooms.Single(r => r.Channel != publicRoom).Channel];
        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[publicRoom].IsArchived, "the public channel archived");
        Assert.Equal("inc-1", privateRoom.Name);
        Assert.True(privateRoom.IsPrivate);
        Assert.Equal([Ann, Bob, FakeSlackServer.BotUserId], privateRoom.Members.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(_slack.Channels[publicRoom].Messages.Values, m => m.Text.StartsWith(":lock: *INC-1* is private now. Its war room moved to a private room", StringComparison.Ordinal));

        // Later posts reach the private room only.
        await host.Transport.CommandAsync(SlackPayloads.Command("update rotating keys", Ann, "ann", privateRoom.Id));
        await FakeSlackServer.WaitUntilAsync(() => privateRoom.Messages.Values.Any(m => m.Text.Contains("rotating keys", StringComparison.Ordinal)), "the update in the private room");
        Assert.DoesNotContain(_slack.Channels[publicRoom].Messages.Values, m => m.Text.Contains("rotating keys", StringComparison.Ordinal));
    }

    /// <summary>
    /// The leak test: every call the bot made to Slack, every answer to a command or card, every response_url post, for a
    /// private incident worked on inside and poked at from outside. The title and the war-room conversation appear
    /// only in calls addressed to the private war room.
    /// </summary>
    [Fact]
    public async Task LeakTest_TitleAndWarRoomWords_OnlyInsideThePrivateWarRoom()
    {
        await using var host = StartHost(privateAnnouncement: "number");
        var answers = new List<(string Where, string Body)>();
        async Task Command(string text, string user, string channel) =>
            answers.Add((channel, (await host.Transport.CommandAsync(SlackPayloads.Command(text, user, user.ToLowerInvariant(), channel, triggerId: null, responseUrl: _slack.ResponseUrl(Guid.NewGuid().ToString("N"))))).GetRawText()));

        var (reply, _, room) = await DeclarePrivateAsync(host);
        answers.Add((_general.Id, reply.GetRawText()));
        var ts = _slack.PostUserMessage(room, Ann, Secret);
        await host.Transport.EventAsync(SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, Secret)));
        await host.WaitForTimelineAsync(1, t => t.Any(e => e.Source?.MessageId == ts), "the war-room message captured");
        await Command("role ic me", Ann, room);
        await Command("update rotating the credentials", Ann, room);
        await Command("timeline", Ann, room);
        await Command("postmortem", Ann, room);

        var ops = _slack.AddChannel("ops");
        foreach (var text in new[] { "list", "timeline INC-1", "postmortem INC-1", "resolve INC-1", "note INC-1 hi", "private INC-1", "sev INC-1 2", "help" })
        {
            await Command(text, Eve, _general.Id);
        }

        await Command("link INC-1", Eve, ops.Id);
        answers.Add((_general.Id, (await host.Transport.InteractionAsync(SlackPayloads.BlockAction(Eve, "eve", _general.Id, "card:INC-1:state", SlackPayloads.ButtonAction(SlackIds.PostmortemAction, "INC-1"), _slack.ResponseUrl("eve-card")))).GetRawText()));
        await FakeSlackServer.WaitUntilAsync(() => _slack.Responses.Any(r => r.Id == "eve-card"), "the refusal of the card button outside");
        await FakeSlackServer.WaitUntilAsync(() => _slack.CallsTo("files.completeUploadExternal").Count > 0, "the postmortem file inside");
        await FakeSlackServer.WaitUntilAsync(() => !_announcements.Messages.IsEmpty, "the number-only announcement");

        static bool Leaks(string text) =>
            text.Contains("Payroll", StringComparison.OrdinalIgnoreCase) || text.Contains("payroll-2026", StringComparison.Ordinal) ||
            text.Contains("rotating the credentials", StringComparison.Ordinal);

        Assert.Contains(_slack.Calls, c => c.Arg("channel") == room && Leaks(c.Args.ToJsonString()));
        Assert.Contains(answers, a => a.Where == room && Leaks(a.Body));
        Assert.All(_slack.Calls.Where(c => Leaks(c.Args.ToJsonString())), c =>
            Assert.True(c.Arg("channel") == room || c.Method is "files.getUploadURLExternal" or "files.upload" || c.Method == "files.completeUploadExternal" && c.Args.ToJsonString().Contains(room, StringComparison.Ordinal),
                $"{c.Method} outside the war room: {c.Args.ToJsonString()}"));
        Assert.All(answers.Where(a => a.Where != room), a => Assert.False(Leaks(a.Body), $"answer in {a.Where}: {a.Body}"));
        Assert.All(_slack.Responses, r => Assert.False(Leaks(r.Body.ToJsonString()), $"response_url post: {r.Body.ToJsonString()}"));
        Assert.All(_slack.Channels.Values.Where(c => c.Id != room), c => Assert.DoesNotContain(c.Messages.Values, m => Leaks(m.Text) || Leaks(m.Blocks?.ToJsonString() ?? "")));
        Assert.All(_slack.Channels.Values, c => Assert.False(Leaks(c.Name), c.Name));
    }
}
