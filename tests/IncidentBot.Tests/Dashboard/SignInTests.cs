using System.Net;
using System.Text.RegularExpressions;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests.Dashboard;

/// <summary>Dashboard sign-in and sessions over the real pipeline: return URLs, antiforgery, rate limits, revocation, expiry, headers.</summary>
public sealed partial class SignInTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private readonly List<BotFactory> _factories = [];

    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private BotFactory Host(Dictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var factory = new BotFactory(_database, settings, services);
        _factories.Add(factory);
        return factory;
    }

    private static HttpClient Browser(BotFactory factory) =>
        factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    [Theory]
    [InlineData("/\t/evil.example")]
    [InlineData("/\n/evil.example")]
    [InlineData("/\r/evil.example")]
    [InlineData("/ \t/evil.example")]
    [InlineData("/incidents\\..\\\\evil.example")]
    [InlineData("\\\\evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("//evil.example")]
    [InlineData("https://evil.example/")]
    [InlineData("javascript:alert(1)")]
    public async Task SignIn_ReturnUrlNotLocal_RedirectsHome(string returnUrl)
    {
        var browser = Browser(Host());

        var response = await SignInAsync(browser, BotFactory.ApiToken, returnUrl);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SignIn_EncodedTabInRawForm_RedirectsHome()
    {
        // Exactly what was measured: returnUrl=/%09/evil.example in the form body.
        var browser = Browser(Host());
        var form = await FormAsync(browser, "/signin");
        var body = $"token={BotFactory.ApiToken}&returnUrl=/%09/evil.example" + (form.Token is null ? "" : $"&{form.Field}={Uri.EscapeDataString(form.Token)}");

        var response = await browser.PostAsync(new Uri("/signin", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SignInForm_ReturnUrlWithTab_RendersHomeInstead()
    {
        var html = await Browser(Host()).GetStringAsync(new Uri("/signin?returnUrl=%2F%09%2Fevil.example", UriKind.Relative));

        Assert.Contains("name=\"returnUrl\" value=\"/\"", html);
    }

    [Fact]
    public async Task SignIn_LocalReturnUrl_IsKept()
    {
        var response = await SignInAsync(Browser(Host()), BotFactory.ApiToken, "/incidents/INC-1?x=1");

        Assert.Equal("/incidents/INC-1?x=1", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SignIn_WithoutAntiforgeryToken_Returns400AndNoSession()
    {
        var browser = Browser(Host());
        await browser.GetAsync(new Uri("/signin", UriKind.Relative)); // the antiforgery cookie alone is not enough

        var response = await browser.PostAsync(new Uri("/signin", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = BotFactory.ApiToken, ["returnUrl"] = "/" }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [], c => c.StartsWith("incidentbot_session=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignOut_WithoutAntiforgeryToken_Returns400AndKeepsSession()
    {
        var browser = Browser(Host());
        await SignInAsync(browser, BotFactory.ApiToken, "/");

        var response = await browser.PostAsync(new Uri("/signout", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task SignOut_WithAntiforgeryToken_EndsSession()
    {
        var browser = Browser(Host());
        await SignInAsync(browser, BotFactory.ApiToken, "/");

        var form = await FormAsync(browser, "/signout");
        var response = await browser.PostAsync(new Uri("/signout", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string> { [form.Field] = form.Token! }));

        Assert.Equal("/signin", response.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task SignIn_TooManyAttempts_Returns429WithRetryAfter()
    {
        var browser = Browser(Host());
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage last = null!;
        for (var i = 0; i < 12; i++)
        {
            last = await SignInAsync(browser, "wrong-token-" + i, "/");
            statuses.Add(last.StatusCode);
        }

        Assert.All(statuses.Take(10), s => Assert.Equal(HttpStatusCode.Redirect, s));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.True(last.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 without a Retry-After");
    }

    [Fact]
    public async Task RevokedToken_SessionCookie_IsSignedOut()
    {
        var factory = Host();
        var browser = Browser(factory);
        await SignInAsync(browser, BotFactory.ApiToken, "/");
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);

        // The operator rotates the token: the configuration now holds only a new one.
        factory.Live.Change("Api:Tokens:0", "rotated-token-0123456789abcdef");

        var response = await browser.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.OriginalString);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("incidentbot_session=;", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Session_PastSessionLifetime_IsSignedOutEvenWhenActive()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var factory = Host(new() { ["Api:SessionLifetime"] = "01:00:00" }, s => s.AddSingleton<TimeProvider>(clock));
        var browser = Browser(factory);
        await SignInAsync(browser, BotFactory.ApiToken, "/");

        clock.Advance(TimeSpan.FromMinutes(40));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri("/metrics", UriKind.Relative))).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(40));

        var response = await browser.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/signin", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task SignIn_ThroughKnownTlsProxy_CookieIsSecure()
    {
        var factory = Host(new() { ["ForwardedHeaders:KnownProxies:0"] = "203.0.113.5" });

        var cookie = await SignInThroughProxyAsync(factory, IPAddress.Parse("203.0.113.5"));

        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SignIn_ThroughUnknownProxy_ForwardedProtoIgnored()
    {
        var factory = Host(new() { ["ForwardedHeaders:KnownProxies:0"] = "203.0.113.5" });

        var cookie = await SignInThroughProxyAsync(factory, IPAddress.Parse("203.0.113.66"));

        Assert.DoesNotContain("; secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task NoTokens_KnownLoopbackProxyForwardingLoopback_StillNotLocal()
    {
        var factory = Host(new() { ["Api:Tokens:0"] = "", ["ForwardedHeaders:KnownProxies:0"] = "127.0.0.1" });

        var context = await factory.Server.SendAsync(http =>
        {
            http.Request.Method = "GET";
            http.Request.Path = "/api/incidents";
            http.Connection.RemoteIpAddress = IPAddress.Loopback;
            http.Request.Headers["X-Forwarded-For"] = "127.0.0.1";
        });

        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/")]
    [InlineData("GET", "/signin")]
    [InlineData("GET", "/signout")]
    [InlineData("GET", "/metrics")]
    [InlineData("GET", "/incidents/INC-404")]
    [InlineData("GET", "/dashboard/assets/dashboard.css")]
    [InlineData("GET", "/dashboard/assets/dashboard.js")]
    [InlineData("GET", "/dashboard/assets/missing.css")]
    [InlineData("GET", "/no/such/page")]
    [InlineData("POST", "/signin")]
    [InlineData("GET", "/api/incidents")]
    public async Task EveryDashboardResponse_CarriesSecurityHeaders(string method, string path)
    {
        var response = await Browser(Host()).SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Single(response.Headers.GetValues("Referrer-Policy"));
    }

    [Theory]
    [InlineData(null, "token=x")]
    [InlineData("application/json", "{\"token\":\"x\"}")]
    [InlineData("application/x-www-form-urlencoded", "token=%zz&&=&returnUrl")]
    public async Task SignIn_NotAForm_4xxNot500(string? contentType, string body)
    {
        var content = new StringContent(body);
        content.Headers.ContentType = contentType is null ? null : new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);

        var response = await Browser(Host()).PostAsync(new Uri("/signin", UriKind.Relative), content);

        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    [Fact]
    public async Task Api_RepeatedBadBearerTokens_ClientIsTurnedAway()
    {
        var api = Host().CreateClient();
        HttpResponseMessage response = null!;
        for (var i = 0; i <= Core.Security.FailureLimiter.FailuresPerWindow; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/incidents");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "guess-" + i);
            response = await api.SendAsync(request);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    /// <summary>Signs in as a browser does: the form first (for its antiforgery token, when it has one), then the POST.</summary>
    internal static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string token, string returnUrl)
    {
        var form = await FormAsync(browser, "/signin");
        var fields = new Dictionary<string, string> { ["token"] = token, ["returnUrl"] = returnUrl };
        if (form.Token is not null)
        {
            fields[form.Field] = form.Token;
        }

        return await browser.PostAsync(new Uri("/signin", UriKind.Relative), new FormUrlEncodedContent(fields));
    }

    internal static async Task<(string Field, string? Token)> FormAsync(HttpClient browser, string path)
    {
        var html = await browser.GetStringAsync(new Uri(path, UriKind.Relative));
        var match = AntiforgeryField().Match(html);
        return match.Success ? (match.Groups[1].Value, WebUtility.HtmlDecode(match.Groups[2].Value)) : ("__RequestVerificationToken", null);
    }

    /// <summary>The session cookie set by a sign-in that a TLS-terminating proxy at <paramref name="proxy"/> forwarded.</summary>
    private static async Task<string> SignInThroughProxyAsync(BotFactory factory, IPAddress proxy)
    {
        void ThroughProxy(HttpContext http, string method, string path)
        {
            http.Request.Method = method;
            http.Request.Path = path;
            http.Request.Scheme = "http";
            http.Connection.RemoteIpAddress = proxy;
            http.Request.Headers["X-Forwarded-For"] = "198.51.100.7";
            http.Request.Headers["X-Forwarded-Proto"] = "https";
        }

        var formPage = await factory.Server.SendAsync(http => ThroughProxy(http, "GET", "/signin"));
        var html = await new StreamReader(formPage.Response.Body).ReadToEndAsync();
        var antiforgery = AntiforgeryField().Match(html);
        var cookies = string.Join("; ", formPage.Response.Headers.SetCookie.Select(c => c!.Split(';')[0]));
        var body = $"token={BotFactory.ApiToken}&returnUrl=%2F" + (antiforgery.Success ? $"&{antiforgery.Groups[1].Value}={Uri.EscapeDataString(WebUtility.HtmlDecode(antiforgery.Groups[2].Value))}" : "");

        var signIn = await factory.Server.SendAsync(http =>
        {
            ThroughProxy(http, "POST", "/signin");
            http.Request.Headers.Cookie = cookies;
            http.Request.ContentType = "application/x-www-form-urlencoded";
            http.Request.Body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body));
        });

        Assert.Equal(StatusCodes.Status302Found, signIn.Response.StatusCode);
        return signIn.Response.Headers.SetCookie.Single(c => c!.StartsWith("incidentbot_session=", StringComparison.Ordinal))!;
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*RequestVerificationToken[^\"]*)\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
