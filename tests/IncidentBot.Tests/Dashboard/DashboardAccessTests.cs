using System.Net;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests.Dashboard;

/// <summary>Who may see incidents: the real pipeline, with the caller's address chosen per request.</summary>
public sealed class DashboardAccessTests : IAsyncLifetime
{
    private static readonly IPAddress Remote = IPAddress.Parse("203.0.113.7");
    private readonly SqliteTestDatabase _database = new();
    private BotFactory _open = null!;
    private BotFactory _withTokens = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _open = new BotFactory(_database, new Dictionary<string, string?> { ["Api:Tokens:0"] = "" });
        _withTokens = new BotFactory(_database);
        var incidents = _withTokens.Services.GetRequiredService<IncidentService>();
        await incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), new Actor(new Person("chat", "U1", "Ann")), default);
    }

    public async Task DisposeAsync()
    {
        await _open.DisposeAsync();
        await _withTokens.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static Task<HttpContext> Get(BotFactory factory, string path, IPAddress? remote, Action<HttpRequest>? configure = null) =>
        factory.Server.SendAsync(http =>
        {
            var uri = new Uri("http://localhost" + path);
            http.Request.Method = "GET";
            http.Request.Path = uri.AbsolutePath;
            http.Request.QueryString = new QueryString(uri.Query);
            http.Connection.RemoteIpAddress = remote;
            configure?.Invoke(http.Request);
        });

    [Theory]
    [InlineData("/")]
    [InlineData("/incidents/INC-1")]
    [InlineData("/metrics")]
    [InlineData("/incidents/INC-1/postmortem.md")]
    public async Task Dashboard_NoTokensRemoteCaller_Refused(string path)
    {
        var response = await Get(_open, path, Remote);
        Assert.Equal(StatusCodes.Status403Forbidden, response.Response.StatusCode);
    }

    [Theory]
    [InlineData("/api/incidents")]
    [InlineData("/api/incidents/INC-1/postmortem.md")]
    public async Task Api_NoTokensRemoteCaller_Refused(string path) =>
        Assert.Equal(StatusCodes.Status401Unauthorized, (await Get(_open, path, Remote)).Response.StatusCode);

    [Theory]
    [InlineData("/")]
    [InlineData("/incidents/INC-1")]
    [InlineData("/metrics")]
    [InlineData("/api/incidents")]
    public async Task NoTokens_LoopbackCaller_Allowed(string path) =>
        Assert.Equal(StatusCodes.Status200OK, (await Get(_open, path, IPAddress.Loopback)).Response.StatusCode);

    [Fact]
    public async Task NoTokens_LoopbackThroughProxy_Refused()
    {
        var response = await Get(_open, "/", IPAddress.Loopback, r => r.Headers["X-Forwarded-For"] = "203.0.113.7");
        Assert.Equal(StatusCodes.Status403Forbidden, response.Response.StatusCode);
    }

    [Fact]
    public async Task Tokens_AnonymousBrowser_RedirectedToSignIn()
    {
        var response = await Get(_withTokens, "/incidents/INC-1", IPAddress.Loopback);
        Assert.Equal(StatusCodes.Status302Found, response.Response.StatusCode);
        Assert.Equal("/signin?returnUrl=%2Fincidents%2FINC-1", response.Response.Headers.Location.ToString());
    }

    [Fact]
    public async Task Tokens_BearerToken_Allowed() =>
        Assert.Equal(StatusCodes.Status200OK, (await Get(_withTokens, "/metrics", Remote, r => r.Headers.Authorization = "Bearer " + BotFactory.ApiToken)).Response.StatusCode);

    [Fact]
    public async Task SignIn_ValidToken_SetsCookieThatOpensTheDashboard()
    {
        var client = _withTokens.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        var wrong = await SignInTests.SignInAsync(client, "nope", "/metrics");
        Assert.StartsWith("/signin?failed=1", wrong.Headers.Location!.OriginalString);
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        var signIn = await SignInTests.SignInAsync(client, BotFactory.ApiToken, "/metrics");
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/metrics", signIn.Headers.Location!.OriginalString);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        using var page = new HttpRequestMessage(HttpMethod.Get, "/incidents/INC-1");
        page.Headers.Add("Cookie", cookie.Split(';')[0]);
        var response = await client.SendAsync(page);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Checkout is down", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example")]
    public async Task SignIn_ForeignReturnUrl_GoesHome(string returnUrl)
    {
        var client = _withTokens.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var signIn = await SignInTests.SignInAsync(client, BotFactory.ApiToken, returnUrl);
        Assert.Equal("/", signIn.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task PostmortemApi_ReturnsMarkdown()
    {
        var response = await _withTokens.CreateApiClient().GetAsync(new Uri("/api/incidents/1/postmortem.md", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/markdown", response.Content.Headers.ContentType!.MediaType);
        Assert.StartsWith("# INC-1: Checkout is down", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/?severity=SEV9")]
    [InlineData("/?from=yesterday")]
    [InlineData("/?status=sleeping")]
    public async Task List_BadFilter_Returns400WithMessage(string path)
    {
        var response = await Get(_open, path, IPAddress.Loopback);
        Assert.Equal(StatusCodes.Status400BadRequest, response.Response.StatusCode);
    }

    [Fact]
    public async Task IncidentPage_Unknown_Returns404() =>
        Assert.Equal(StatusCodes.Status404NotFound, (await Get(_open, "/incidents/INC-404", IPAddress.Loopback)).Response.StatusCode);
}
