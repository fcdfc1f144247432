using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Tests;

public sealed class SlackRequestVerifierTests
{
    // Slack's published example (docs: verifying requests from Slack).
    private const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string Timestamp = "1531420618";
    private const string Body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    private const string Expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    private static SlackRequestVerifier Verifier(DateTimeOffset now) =>
        new(Options.Create(new SlackOptions { SigningSecret = Secret }), new ManualClock(now));

    [Fact]
    public void Sign_SlackExample_MatchesPublishedSignature() =>
        Assert.Equal(Expected, SlackRequestVerifier.Sign(Secret, Timestamp, Encoding.UTF8.GetBytes(Body)));

    [Theory]
    [InlineData(0, SignatureCheck.Valid)]
    [InlineData(300, SignatureCheck.Valid)]
    [InlineData(-300, SignatureCheck.Valid)]
    [InlineData(301, SignatureCheck.Expired)]
    [InlineData(-301, SignatureCheck.Expired)]
    public void Verify_SlackExampleAtOffset_ChecksWindowBothWays(int secondsFromRequest, SignatureCheck expected)
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(Timestamp, System.Globalization.CultureInfo.InvariantCulture) + secondsFromRequest);
        Assert.Equal(expected, Verifier(now).Verify(Timestamp, Expected, Encoding.UTF8.GetBytes(Body)));
    }

    [Theory]
    [InlineData(null, Expected, SignatureCheck.Missing)]
    [InlineData(Timestamp, null, SignatureCheck.Missing)]
    [InlineData("not-a-number", Expected, SignatureCheck.Malformed)]
    [InlineData(Timestamp, "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", SignatureCheck.Malformed)]
    [InlineData(Timestamp, "v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503", SignatureCheck.Mismatch)]
    [InlineData(Timestamp, "v0=b2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", SignatureCheck.Mismatch)]
    public void Verify_BadHeaders_Rejected(string? timestamp, string? signature, SignatureCheck expected)
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1531420618);
        Assert.Equal(expected, Verifier(now).Verify(timestamp, signature, Encoding.UTF8.GetBytes(Body)));
    }

    [Fact]
    public void Verify_BodyChangedAfterSigning_Mismatch()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1531420618);
        var tampered = Body.Replace("roadrunner", "coyote", StringComparison.Ordinal);
        Assert.Equal(SignatureCheck.Mismatch, Verifier(now).Verify(Timestamp, Expected, Encoding.UTF8.GetBytes(tampered)));
    }
}

/// <summary>Authentication and input checks of the four endpoints, over real HTTP against the host.</summary>
public sealed class SlackEndpointTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private SlackHost _host = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _host = SlackHost.Start(_database, _slack);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    public static TheoryData<string> Endpoints => new() { "/slack/commands", "/slack/interactions", "/slack/events", "/slack/options" };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Post_WithoutSignature_Returns401(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("ssl_check=0", Encoding.UTF8, "application/x-www-form-urlencoded") };
        var response = await _host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("wrong-secret", 0)]
    [InlineData(SlackSigner.TestSecret, -301)]
    [InlineData(SlackSigner.TestSecret, 302)]
    [InlineData(SlackSigner.TestSecret, -3600)]
    [InlineData(SlackSigner.TestSecret, 3600)]
    public async Task Command_BadOrStaleOrFutureSignature_Returns401AndDeclaresNothing(string secret, int offsetSeconds)
    {
        var fields = SlackPayloads.Command("declare sev1 Should not happen", "UANN", "ann", "CGENERAL");
        using var request = new SlackSigner(secret).Form("/slack/commands", fields, DateTimeOffset.UtcNow.AddSeconds(offsetSeconds));

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await _host.Store.ListAsync(new Core.Application.IncidentQuery(), default));
    }

    [Fact]
    public async Task Command_BodyAlteredAfterSigning_Returns401()
    {
        var body = SlackPayloads.FormEncode(SlackPayloads.Command("list", "UANN", "ann", "CGENERAL"));
        using var request = _host.Signer.Request("/slack/commands", body, "application/x-www-form-urlencoded");
        request.Content = new StringContent(body.Replace("list", "help", StringComparison.Ordinal), Encoding.UTF8, "application/x-www-form-urlencoded");

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/slack/events", "{not json", "application/json")]
    [InlineData("/slack/events", "[1,2,3]", "application/json")]
    [InlineData("/slack/events", "{\"type\":\"event_callback\"}", "application/json")]
    [InlineData("/slack/events", "{\"type\":\"url_verification\"}", "application/json")]
    [InlineData("/slack/events", "{\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event\":{}}", "application/json")]
    [InlineData("/slack/events", "type=event_callback", "application/x-www-form-urlencoded")]
    [InlineData("/slack/commands", "text=declare+x", "application/x-www-form-urlencoded")]
    [InlineData("/slack/commands", "{\"command\":\"/incident\"}", "application/json")]
    [InlineData("/slack/interactions", "nopayload=1", "application/x-www-form-urlencoded")]
    [InlineData("/slack/interactions", "payload=%7Bbroken", "application/x-www-form-urlencoded")]
    [InlineData("/slack/interactions", "payload=%7B%22type%22%3A%22block_actions%22%7D", "application/x-www-form-urlencoded")]
    [InlineData("/slack/interactions", "payload=%7B%22type%22%3A%22view_submission%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%7D", "application/x-www-form-urlencoded")]
    public async Task Post_SignedButMalformed_Returns400(string path, string body, string contentType)
    {
        using var request = _host.Signer.Request(path, body, contentType);

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Events_UrlVerification_EchoesChallenge()
    {
        using var request = _host.Signer.Json("/slack/events", new JsonObject { ["token"] = "t", ["challenge"] = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", ["type"] = "url_verification" });

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", json.RootElement.GetProperty("challenge").GetString());
    }

    [Fact]
    public async Task Commands_UnsignedSslCheck_Returns200AndDoesNothing()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/commands") { Content = new StringContent("ssl_check=1&token=xyz", Encoding.UTF8, "application/x-www-form-urlencoded") };

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Commands_SslCheckSmugglingACommand_Returns401()
    {
        var fields = SlackPayloads.Command("declare sev1 Smuggled", "UANN", "ann", "CGENERAL").Append(new("ssl_check", "0"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/slack/commands") { Content = new StringContent(SlackPayloads.FormEncode(fields), Encoding.UTF8, "application/x-www-form-urlencoded") };

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Command_UnknownVerb_EphemeralUsage()
    {
        var reply = await _host.Transport.CommandAsync(SlackPayloads.Command("frobnicate now", "UANN", "ann", "CGENERAL"));

        Assert.Equal("ephemeral", reply.GetProperty("response_type").GetString());
        Assert.Contains("I don't know `frobnicate`", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_ContentTypeWithCharset_Accepted()
    {
        var body = SlackPayloads.FormEncode(SlackPayloads.Command("help", "UANN", "ann", "CGENERAL"));
        using var request = _host.Signer.Request("/slack/commands", body, "application/x-www-form-urlencoded; charset=utf-8");

        var response = await _host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Declare_WithoutText_OpensModalWithinTheRequest()
    {
        var reply = await _host.Transport.CommandAsync(SlackPayloads.Command("declare", "UANN", "ann", "CGENERAL", triggerId: "trigger-modal-1"));

        Assert.Equal(JsonValueKind.Undefined, reply.TryGetProperty("text", out var text) ? text.ValueKind : JsonValueKind.Undefined);
        var open = Assert.Single(_slack.CallsTo("views.open"));
        Assert.Equal("trigger-modal-1", open.Arg("trigger_id"));
        Assert.Equal(SlackIds.DeclareView, (string?)open.Args["view"]!["callback_id"]);
        Assert.DoesNotContain(_slack.Rejections, r => r.Method == "views.open");
    }

    [Fact]
    public async Task Declare_TriggerAlreadyUsed_ExplainsInsteadOfFailing()
    {
        await _host.Transport.CommandAsync(SlackPayloads.Command("declare", "UANN", "ann", "CGENERAL", triggerId: "trigger-once"));

        var reply = await _host.Transport.CommandAsync(SlackPayloads.Command("declare", "UANN", "ann", "CGENERAL", triggerId: "trigger-once"));

        Assert.Contains(("views.open", "exchanged_trigger_id"), _slack.Rejections);
        Assert.Equal("ephemeral", reply.GetProperty("response_type").GetString());
        Assert.Contains("declare [private] [sev1-4] <title>", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Declare_SlackHoldsViewsOpen_GivesUpWhenTriggerExpires()
    {
        var release = new TaskCompletionSource();
        _slack.Script("views.open", new SlackFault(Hold: release.Task));
        try
        {
            // The fake never answers until released, so a reply at all means the bot stopped waiting.
            var reply = await _host.Transport.CommandAsync(SlackPayloads.Command("declare", "UANN", "ann", "CGENERAL"));

            Assert.Contains("couldn't open the form", reply.GetProperty("text").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            release.SetResult();
        }
    }

    [Fact]
    public async Task DeclareModal_Submitted_DeclaresWithCommanderAndInvitesResponders()
    {
        var general = _slack.AddChannel("general");
        var values = new JsonObject
        {
            ["title"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "Disk full on db-3" } },
            ["severity"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "static_select", ["selected_option"] = new JsonObject { ["value"] = "SEV2" } } },
            ["description"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "Writes failing" } },
            ["commander"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "users_select", ["selected_user"] = "UBOB" } },
            ["responders"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "multi_users_select", ["selected_users"] = new JsonArray("UCAROL", "UDAVE") } },
        };

        var answer = await _host.Transport.InteractionAsync(SlackPayloads.ViewSubmission("UANN", "ann", SlackIds.DeclareView, general.Id, values));

        Assert.False(answer.TryGetProperty("response_action", out _));
        var incident = await _host.WaitForWarRoomAsync(new Core.Incidents.IncidentNumber(1));
        Assert.Equal(Core.Incidents.Severity.Sev2, incident.Severity);
        Assert.Equal("Writes failing", incident.Description);
        Assert.Equal("UBOB", incident.RoleHolder(Core.Incidents.IncidentRole.Commander)!.UserId);
        var room = _slack.Channels[incident.WarRooms[0].Channel];
        Assert.Equal("inc-1-disk-full-on-db-3", room.Name);
        Assert.Superset(new HashSet<string> { "UANN", "UBOB", "UCAROL", "UDAVE" }, room.Members.Keys.ToHashSet());
    }

    [Fact]
    public async Task DeclareModal_150Responders_InvitedInBatchesOfAtMost100()
    {
        var general = _slack.AddChannel("general");
        var responders = Enumerable.Range(0, 150).Select(i => $"UR{i:D6}").ToList();
        var values = new JsonObject
        {
            ["title"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "Big outage" } },
            ["responders"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "multi_users_select", ["selected_users"] = new JsonArray(responders.Select(r => (JsonNode)r).ToArray()) } },
        };

        await _host.Transport.InteractionAsync(SlackPayloads.ViewSubmission("UANN", "ann", SlackIds.DeclareView, general.Id, values));

        var incident = await _host.WaitForWarRoomAsync(new Core.Incidents.IncidentNumber(1));
        var invites = _slack.CallsTo("conversations.invite");
        Assert.Equal(2, invites.Count);
        Assert.All(invites, call => Assert.True(call.Arg("users")!.Split(',').Length <= 100));
        Assert.Superset(responders.Append("UANN").ToHashSet(), _slack.Channels[incident.WarRooms[0].Channel].Members.Keys.ToHashSet());
    }

    [Fact]
    public async Task CardPostUpdate_ButtonThenModal_PostsUpdate()
    {
        var general = _slack.AddChannel("general");
        await _host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Slow builds", "UANN", "ann", general.Id));
        var incident = await _host.WaitForWarRoomAsync(new Core.Incidents.IncidentNumber(1));
        var room = incident.WarRooms[0].Channel;

        await _host.Transport.InteractionAsync(SlackPayloads.BlockAction("UANN", "ann", room, "card:INC-1:state", SlackPayloads.ButtonAction(SlackIds.PostUpdateAction, "INC-1")));
        var open = Assert.Single(_slack.CallsTo("views.open"));
        var view = (JsonObject)open.Args["view"]!;
        Assert.Equal(SlackIds.UpdateView, (string?)view["callback_id"]);
        var values = new JsonObject { ["update"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "Cache warmed; builds back to 4 min" } } };
        var answer = await _host.Transport.InteractionAsync(SlackPayloads.ViewSubmission("UANN", "ann", SlackIds.UpdateView, (string)view["private_metadata"]!, values));

        Assert.False(answer.TryGetProperty("response_action", out _));
        incident = await _host.WaitForIncidentAsync(incident.Number, i => i.LastUpdateAt is not null, "the update");
        await FakeSlackServer.WaitUntilAsync(() => _slack.Channels[room].Messages.Values.Any(m => m.Text.Contains("builds back to 4 min", StringComparison.Ordinal)), "the update post");
    }

    [Fact]
    public async Task DeclareModal_EmptyTitle_ReturnsBlockError()
    {
        var values = new JsonObject { ["title"] = new JsonObject { ["value"] = new JsonObject { ["type"] = "plain_text_input", ["value"] = "  " } } };

        var answer = await _host.Transport.InteractionAsync(SlackPayloads.ViewSubmission("UANN", "ann", SlackIds.DeclareView, "CGENERAL", values));

        Assert.Equal("errors", answer.GetProperty("response_action").GetString());
        Assert.True(answer.GetProperty("errors").TryGetProperty("title", out _));
    }

    [Fact]
    public async Task CardAction_RuleBroken_ExplainsThroughResponseUrl()
    {
        var payload = SlackPayloads.BlockAction("UANN", "ann", "CROOM", "card:INC-7:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, "INC-7"), _slack.ResponseUrl("r1"));

        var answer = await _host.Transport.InteractionAsync(payload);

        Assert.Equal(JsonValueKind.Object, answer.ValueKind);
        await FakeSlackServer.WaitUntilAsync(() => _slack.Responses.Count == 1, "the response_url post");
        var (id, body) = _slack.Responses.Single();
        Assert.Equal("r1", id);
        Assert.Equal("ephemeral", (string?)body["response_type"]);
        Assert.Contains("INC-7 does not exist", (string?)body["text"], StringComparison.Ordinal);
    }
}

/// <summary>With no Slack settings the endpoints are inert and the host runs as before.</summary>
public sealed class SlackNotConfiguredTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private IncidentBot.Tests.BotFactory _factory = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _factory = new IncidentBot.Tests.BotFactory(_database);
        _ = _factory.Server;
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Theory]
    [InlineData("/slack/commands")]
    [InlineData("/slack/events")]
    [InlineData("/slack/interactions")]
    [InlineData("/slack/options")]
    public async Task Post_SlackNotConfigured_Returns404(string path)
    {
        using var request = new SlackSigner(SlackSigner.TestSecret).Request(path, "{}", "application/json");
        var response = await _factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_SlackNotConfigured_Returns200()
    {
        var response = await _factory.CreateClient().GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
