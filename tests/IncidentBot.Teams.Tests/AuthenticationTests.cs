using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

public sealed class AuthenticatedWorldFixture : IAsyncLifetime
{
    public TeamsWorld World { get; private set; } = null!;

    public async Task InitializeAsync() => World = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?>
    {
        ["Teams:AllowedTenants:0"] = TeamsActivities.TenantId,
    });

    public async Task DisposeAsync() => await World.DisposeAsync();
}

/// <summary>Bot Framework's inbound authentication on POST /api/messages, against the fake issuer's JWKS.</summary>
public sealed class AuthenticationTests(AuthenticatedWorldFixture fixture) : IClassFixture<AuthenticatedWorldFixture>
{
    private TeamsWorld World => fixture.World;

    private JsonObject HelpCommand() => World.Activities.Command("19:auth@thread.tacv2", TeamsWorld.Ann, "help");

    private TokenSpec Valid => new() { Audience = World.AppId!, ServiceUrl = World.Connector.ServiceUrl };

    [Fact]
    public async Task PostMessages_ValidToken_Returns200AndAnswersWithBotToken()
    {
        var activity = HelpCommand();
        var response = await World.PostAsync(activity);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = await World.Connector.WaitForAsync(c => c.Any(x => x.ActivityId == (string?)activity["id"]), what: "the help answer");
        var answer = calls.Single(x => x.ActivityId == (string?)activity["id"]);
        Assert.Equal(ConnectorOperation.Reply, answer.Operation);
        Assert.Contains("Incident commands", answer.Text, StringComparison.Ordinal);
        Assert.StartsWith("Bearer " + FakeBotFrameworkIssuer.IssuedTokenPrefix, answer.Authorization, StringComparison.Ordinal);
        Assert.Contains(World.Issuer.TokenRequests, r => r["scope"] == "https://api.botframework.com/.default" && r["client_id"] == World.AppId);
    }

    [Fact]
    public async Task PostMessages_NoAuthorizationHeader_Returns401()
    {
        var response = await World.PostAsync(HelpCommand(), token: "");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task PostMessages_NotABearerToken_Returns401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent(HelpCommand().ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        var response = await World.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task PostMessages_WrongIssuer_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { Issuer = "https://sts.windows.net/someone-else/" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_WrongAudience_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { Audience = "another-bot-app-id" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_ExpiredBeyondSkew_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { IssuedAt = DateTimeOffset.UtcNow.AddHours(-2), Lifetime = TimeSpan.FromMinutes(50) });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_ExpiredWithinSkew_Returns200()
    {
        // Expired 2 minutes ago: inside Bot Framework's 5 minutes of clock skew.
        var token = World.Issuer.Mint(Valid with { IssuedAt = DateTimeOffset.UtcNow.AddMinutes(-62), Lifetime = TimeSpan.FromMinutes(60) });
        Assert.Equal(HttpStatusCode.OK, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_NotYetValid_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { IssuedAt = DateTimeOffset.UtcNow.AddMinutes(20) });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_BadSignature_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { Forged = true });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_TamperedPayload_Returns401()
    {
        var parts = World.ValidToken().Split('.');
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(parts[1].Replace('-', '+').Replace('_', '/')))))!;
        payload["aud"] = "another-bot-app-id";
        var tampered = parts[0] + "." + FakeBotFrameworkIssuer.Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString())) + "." + parts[2];
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), tampered)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_SignedByKeyNotEndorsedForTeams_Returns403()
    {
        var token = World.Issuer.Mint(Valid with { KeyId = FakeBotFrameworkIssuer.OtherChannelKeyId });
        Assert.Equal(HttpStatusCode.Forbidden, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_ServiceUrlClaimMismatch_Returns401()
    {
        var token = World.Issuer.Mint(Valid with { ServiceUrl = "https://smba.trafficmanager.net/emea/" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_UnsupportedAlgorithm_Returns401()
    {
        // Same key, RS384 declared in the header: only RS256 is accepted.
        var token = World.Issuer.Mint(Valid with { Algorithm = "RS384" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await World.PostAsync(HelpCommand(), token)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_TenantNotAllowed_Returns403()
    {
        var activity = HelpCommand();
        activity["channelData"]!["tenant"]!["id"] = "other-tenant";
        activity["conversation"]!["tenantId"] = "other-tenant";
        Assert.Equal(HttpStatusCode.Forbidden, (await World.PostAsync(activity)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_KeyRotatedAfterStart_RefreshesMetadataAndAccepts()
    {
        Assert.Equal(HttpStatusCode.OK, (await World.PostAsync(HelpCommand())).StatusCode);
        var fetched = World.Issuer.MetadataRequests;
        World.Issuer.AddKey("rotated-key", "msteams");

        var token = World.Issuer.Mint(Valid with { KeyId = "rotated-key" });
        Assert.Equal(HttpStatusCode.OK, (await World.PostAsync(HelpCommand(), token)).StatusCode);
        Assert.True(World.Issuer.MetadataRequests > fetched, "the metadata was not fetched again for the unknown key");
    }

    [Fact]
    public async Task PostMessages_MalformedJsonWithValidToken_Returns400()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent("{\"type\": \"message\", ", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", World.ValidToken());
        var response = await World.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task PostMessages_MalformedJsonWithoutToken_Returns401()
    {
        using var content = new StringContent("{\"type\": \"message\", ", Encoding.UTF8, "application/json");
        var response = await World.Client.PostAsync(new Uri("/api/messages", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task PostMessages_ActivityWithoutType_Returns400()
    {
        var activity = HelpCommand();
        activity.Remove("type");
        Assert.Equal(HttpStatusCode.BadRequest, (await World.PostAsync(activity)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_UnknownActivityType_Returns200()
    {
        var activity = World.Activities.Base("typing", "19:auth@thread.tacv2", TeamsWorld.Ann);
        Assert.Equal(HttpStatusCode.OK, (await World.PostAsync(activity)).StatusCode);
    }

    [Fact]
    public async Task PostMessages_UnhandledInvoke_Returns501()
    {
        var activity = World.Activities.Base("invoke", "19:auth@thread.tacv2", TeamsWorld.Ann);
        activity["name"] = "signin/verifyState";
        Assert.Equal(HttpStatusCode.NotImplemented, (await World.PostAsync(activity)).StatusCode);
    }

    private static string Pad(string base64) => base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
}
