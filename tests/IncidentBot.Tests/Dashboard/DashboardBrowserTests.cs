using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace IncidentBot.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's Chromium, headless) against the real host process on seeded
/// data. The browser runs in New York time, so the pages must show times in the viewer's zone.
/// Screenshots are written to artifacts/screenshots/.
/// </summary>
public sealed class DashboardBrowserTests(DashboardBrowserFixture fixture) : IClassFixture<DashboardBrowserFixture>
{
    private IBrowser Browser => fixture.Browser;

    private Uri Address => fixture.Address;

    [Fact]
    public async Task IncidentList_ShowsOpenFirstThenResolved_AndFilters()
    {
        var page = await OpenAsync("/");

        var open = page.Locator("section", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Open" }) });
        await Assertions.Expect(open.GetByRole(AriaRole.Link, new() { Name = "Login errors in the EU" })).ToBeVisibleAsync();
        await Assertions.Expect(open.Locator("tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(open.Locator(".badge.sev1")).ToHaveTextAsync("SEV1");

        var resolved = page.Locator("section", new() { Has = page.GetByRole(AriaRole.Heading, new() { Name = "Recently resolved" }) });
        await Assertions.Expect(resolved.Locator("tbody tr")).ToHaveCountAsync(3);
        await Screenshot(page, "incident-list");

        await page.GetByPlaceholder("title").FillAsync("payments");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.Locator("table.incidents tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Payments failing at checkout" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task IncidentPage_ShowsRolesTimelineWithPinsUpdatesActionsAndPostmortem()
    {
        var page = await OpenAsync("/incidents/INC-2");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync("Payments failing at checkout");
        await Assertions.Expect(page.Locator(".roles")).ToContainTextAsync("Bo");
        var pinned = page.Locator("ol.timeline li.pinned");
        await Assertions.Expect(pinned).ToHaveCountAsync(1);
        await Assertions.Expect(pinned).ToContainTextAsync("PSP certificate expired");
        await Assertions.Expect(page.Locator("ol.timeline li.kind-update")).ToContainTextAsync("Renewing the certificate");
        await Assertions.Expect(page.Locator("ul.actions")).ToContainTextAsync("Alert 14 days before certificate expiry");
        await Assertions.Expect(page.Locator(".postmortem")).ToContainTextAsync("Response metrics");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Download Markdown" })).ToHaveAttributeAsync("href", "/incidents/INC-2/postmortem.md");

        // Times are converted to the viewer's zone (New York), with the UTC time kept in the tooltip.
        var firstTime = page.Locator("ol.timeline time").First;
        var utcTitle = await firstTime.GetAttributeAsync("title");
        Assert.EndsWith("UTC", utcTitle);
        Assert.DoesNotContain("UTC", await firstTime.InnerTextAsync());
        await Screenshot(page, "incident-page-top");
        await Screenshot(page, "incident-page", fullPage: true);

        var download = await page.APIRequest.GetAsync(new Uri(Address, "/incidents/INC-2/postmortem.md").ToString());
        Assert.Equal(200, download.Status);
        Assert.StartsWith("# INC-2: Payments failing at checkout", await download.TextAsync());
    }

    [Fact]
    public async Task MetricsPage_ShowsChartsAndNumbers()
    {
        var page = await OpenAsync("/metrics");

        await Assertions.Expect(page.Locator("figure.chart")).ToHaveCountAsync(3);
        await Assertions.Expect(page.Locator("figure.chart figcaption").First).ToHaveTextAsync("Incidents per week by severity");
        await Assertions.Expect(page.Locator("figure.chart rect.sev1")).ToHaveCountAsync(2);
        var sev1Row = page.Locator("table.numbers tr", new() { Has = page.Locator(".badge.sev1") });
        await Assertions.Expect(sev1Row.Locator("td").Nth(1)).ToHaveTextAsync("2");
        await Screenshot(page, "metrics", fullPage: true);
    }

    [Fact]
    public async Task IncidentList_OnAPhone_StacksRowsWithoutHorizontalScroll()
    {
        var page = await OpenAsync("/", new ViewportSize { Width = 390, Height = 844 });

        await Assertions.Expect(page.Locator("table.incidents thead").First).ToBeHiddenAsync();
        var overflow = await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth > window.innerWidth");
        Assert.False(overflow);
        await Screenshot(page, "incident-list-phone", fullPage: true);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/incidents/INC-2")]
    [InlineData("/metrics")]
    [InlineData("/signin")]
    public async Task EveryPage_UnderItsContentSecurityPolicy_ViolatesNothing(string path)
    {
        var context = await Browser.NewContextAsync();
        // Init scripts run outside the page's policy, so the listener is there before anything is refused.
        await context.AddInitScriptAsync("window.__violations = []; document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));");
        var page = await context.NewPageAsync();

        var response = await page.GotoAsync(new Uri(Address, path).ToString());
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);

        Assert.Equal(200, response!.Status);
        Assert.Contains("default-src 'self'", (await response.AllHeadersAsync())["content-security-policy"]);
        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__violations"));
        // The stylesheet applied (the header bar is styled by it) and no element carries an inline style.
        Assert.NotEqual("rgba(0, 0, 0, 0)", await page.EvaluateAsync<string>("() => getComputedStyle(document.querySelector('header.top')).backgroundColor"));
        Assert.Equal(0, await page.Locator("[style]").CountAsync());
        await context.CloseAsync();
    }

    private async Task<IPage> OpenAsync(string path, ViewportSize? viewport = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            TimezoneId = "America/New_York",
            Locale = "en-US",
            ViewportSize = viewport ?? new ViewportSize { Width = 1280, Height = 900 },
        });
        var page = await context.NewPageAsync();
        var response = await page.GotoAsync(new Uri(Address, path).ToString());
        Assert.Equal(200, response!.Status);
        return page;
    }

    private static async Task Screenshot(IPage page, string name, bool fullPage = false)
    {
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name + ".png"), FullPage = fullPage });
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
        {
            directory = directory.Parent!;
        }

        return directory.FullName;
    }
}

/// <summary>One seeded database, one host process and one browser for all the browser tests.</summary>
public sealed class DashboardBrowserFixture : IAsyncLifetime
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private readonly SqliteTestDatabase _database = new();
    private BotProcess? _host;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser is not started.");

    public Uri Address { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        await SeedAsync();
        _host = BotProcess.Start(new Dictionary<string, string?>
        {
            ["Database__Provider"] = "Sqlite",
            ["ConnectionStrings__IncidentBot"] = _database.ConnectionString,
        });
        Address = await _host.WaitUntilListeningAsync(TimeSpan.FromSeconds(60));

        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium package (./scripts/test.sh does it).");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    /// <summary>Four incidents over the last six weeks, recorded through the engine with a clock moved by hand.</summary>
    private async Task SeedAsync()
    {
        var now = DateTimeOffset.UtcNow;
        var clock = new ManualClock(now.AddDays(-40));
        await using var services = _database.CreateServices(b =>
        {
            b.Services.AddSingleton<TimeProvider>(clock);
            b.AddIncidentEngine();
        });
        var incidents = services.GetRequiredService<IncidentService>();
        var ann = new Actor(new Person("chat", "U1", "Ann"), new ChatSpace("chat", "C-GENERAL"));
        var bo = new Person("chat", "U2", "Bo");
        var cy = new Person("chat", "U3", "Cy");

        void MoveTo(DateTimeOffset time) => clock.Advance(time - clock.GetUtcNow());

        var search = (await incidents.DeclareAsync(new DeclareRequest("Search latency above SLO", Severity.Sev2), ann, default)).Incident.Number;
        clock.Advance(TimeSpan.FromMinutes(5));
        await incidents.AcknowledgeAsync(search, ann, default);
        clock.Advance(TimeSpan.FromHours(2));
        await incidents.ResolveAsync(search, "index rebuilt", ann, default);

        MoveTo(now.AddDays(-20));
        var payments = (await incidents.DeclareAsync(new DeclareRequest("Payments failing at checkout", Severity.Sev2), ann, default)).Incident.Number;
        var room = new ChatSpace("chat", "C-INC-2");
        await incidents.LinkWarRoomAsync(payments, room, ann, default);
        await incidents.AssignRoleAsync(payments, IncidentRole.Commander, bo, ann, default);
        await incidents.AssignRoleAsync(payments, IncidentRole.Scribe, cy, ann, default);
        clock.Advance(TimeSpan.FromMinutes(3));
        await incidents.AcknowledgeAsync(payments, new Actor(bo), default);
        clock.Advance(TimeSpan.FromMinutes(4));
        var message = new MessageRef("chat", room.Channel, "m-1");
        await incidents.CaptureMessageAsync(new CapturedMessage(message, cy, "PSP certificate expired at 23:45 UTC", clock.GetUtcNow()), default);
        await incidents.CaptureMessageAsync(new CapturedMessage(new MessageRef("chat", room.Channel, "m-2"), bo, "checking the gateway logs", clock.GetUtcNow().AddSeconds(20)), default);
        await incidents.SetPinnedAsync(message, true, null, default);
        await incidents.ChangeSeverityAsync(payments, Severity.Sev1, new Actor(bo), default);
        clock.Advance(TimeSpan.FromMinutes(10));
        await incidents.PostUpdateAsync(payments, "Renewing the certificate; card payments failing", new Actor(bo), default);
        clock.Advance(TimeSpan.FromMinutes(25));
        await incidents.ChangeStatusAsync(payments, IncidentStatus.Monitoring, new Actor(bo), default);
        await incidents.AddActionItemAsync(payments, "Alert 14 days before certificate expiry", cy, ann, default);
        clock.Advance(TimeSpan.FromHours(26));
        await incidents.ResolveAsync(payments, "certificate renewed", new Actor(bo), default);

        MoveTo(now.AddDays(-10));
        var queue = (await incidents.DeclareAsync(new DeclareRequest("Email queue backlog", Severity.Sev3), ann, default)).Incident.Number;
        clock.Advance(TimeSpan.FromMinutes(20));
        await incidents.AcknowledgeAsync(queue, ann, default);
        clock.Advance(TimeSpan.FromHours(1));
        await incidents.ResolveAsync(queue, null, ann, default);

        MoveTo(now.AddHours(-1));
        var login = (await incidents.DeclareAsync(new DeclareRequest("Login errors in the EU", Severity.Sev1), ann, default)).Incident.Number;
        await incidents.AssignRoleAsync(login, IncidentRole.Commander, bo, ann, default);
    }
}
