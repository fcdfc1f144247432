using System.Net;
using System.Net.Http.Headers;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.Tests.Dashboard;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests;

/// <summary>
/// The API and dashboard leak test: with a token outside <c>Api:PrivateTokens</c> (bearer or signed-in browser), no
/// response names a private incident's title or a word said in its war room; it is absent from lists and 404 by number.
/// </summary>
public sealed class PrivateIncidentWebTests : IAsyncLifetime
{
    private const string PrivateToken = "private-token-0123456789abcdef";
    private const string Title = "Payroll export leaked";
    private const string WarRoomWords = "bucket payroll-2026 was public";
    private static readonly ChatSpace WarRoom = new("slack", "CPRIVATE");

    private static readonly string[] Paths =
    [
        "/api/incidents", "/api/incidents?status=open", "/api/incidents/INC-1", "/api/incidents/1/timeline", "/api/incidents/INC-1/postmortem.md",
        "/", "/?status=all", "/?q=export", "/incidents/INC-1", "/incidents/INC-1/postmortem.md", "/metrics", "/metrics?weeks=52",
    ];

    private readonly SqliteTestDatabase _database = new();
    private BotFactory _host = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _host = new BotFactory(_database, new Dictionary<string, string?> { ["Api:PrivateTokens:0"] = PrivateToken });
        var incidents = _host.Services.GetRequiredService<IncidentService>();
        var ann = new Person("slack", "UANN", "Ann");
        var request = new DeclareRequest(Title, Severity.Sev1) { IsPrivate = true, WarRoom = WarRoom };
        var declared = (await incidents.DeclareAsync(request, new Actor(ann), default)).Incident;
        await incidents.AddNoteAsync(declared.Number, WarRoomWords, new Actor(ann, WarRoom), default);
        await incidents.AcknowledgeAsync(declared.Number, new Actor(ann, WarRoom), default);
        await incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), new Actor(ann), default);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _database.DisposeAsync();
    }

    private HttpClient Client(string token)
    {
        var client = _host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    [Fact]
    public async Task EveryPage_OrdinaryToken_NeverNamesThePrivateIncident()
    {
        var client = Client(BotFactory.ApiToken);
        foreach (var path in Paths)
        {
            var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();

            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
            Assert.DoesNotContain("Payroll", body, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("payroll-2026", body, StringComparison.Ordinal);
            Assert.DoesNotContain("CPRIVATE", body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/api/incidents/INC-1")]
    [InlineData("/api/incidents/1/timeline")]
    [InlineData("/api/incidents/INC-1/postmortem.md")]
    [InlineData("/incidents/INC-1")]
    [InlineData("/incidents/INC-1/postmortem.md")]
    public async Task ByNumber_OrdinaryToken_NotFoundLikeAMissingIncident(string path)
    {
        var client = Client(BotFactory.ApiToken);

        var privateOne = await client.GetAsync(new Uri(path, UriKind.Relative));
        var missing = await client.GetAsync(new Uri(path.Replace("1", "99", StringComparison.Ordinal), UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, privateOne.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Lists_OrdinaryToken_ShowOnlyThePublicIncident()
    {
        var json = await Client(BotFactory.ApiToken).GetStringAsync(new Uri("/api/incidents", UriKind.Relative));

        Assert.Contains("INC-2", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"INC-1\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryPage_PrivateToken_SeesThePrivateIncident()
    {
        var client = Client(PrivateToken);

        Assert.Contains(Title, await client.GetStringAsync(new Uri("/api/incidents", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains(WarRoomWords, await client.GetStringAsync(new Uri("/api/incidents/1/timeline", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains(WarRoomWords, await client.GetStringAsync(new Uri("/api/incidents/INC-1/postmortem.md", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains(Title, await client.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains(Title, await client.GetStringAsync(new Uri("/incidents/INC-1", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_CountPrivateIncidentsOnlyForPrivateTokens()
    {
        // Two SEV1 incidents declared this week: the ordinary token sees one of them counted.
        var ordinary = await Client(BotFactory.ApiToken).GetStringAsync(new Uri("/metrics?weeks=4", UriKind.Relative));
        var privileged = await Client(PrivateToken).GetStringAsync(new Uri("/metrics?weeks=4", UriKind.Relative));

        Assert.NotEqual(ordinary, privileged);
        Assert.Contains("<td>2</td>", privileged, StringComparison.Ordinal);
        Assert.DoesNotContain("<td>2</td>", ordinary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignedInBrowser_SeesPrivateOnlyWithAPrivateToken()
    {
        var ordinary = _host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var privileged = _host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        await SignInTests.SignInAsync(ordinary, BotFactory.ApiToken, "/");
        await SignInTests.SignInAsync(privileged, PrivateToken, "/");

        Assert.DoesNotContain(Title, await ordinary.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await ordinary.GetAsync(new Uri("/incidents/INC-1", UriKind.Relative))).StatusCode);
        Assert.Contains(Title, await privileged.GetStringAsync(new Uri("/", UriKind.Relative)), StringComparison.Ordinal);
        Assert.Contains(Title, await privileged.GetStringAsync(new Uri("/incidents/INC-1", UriKind.Relative)), StringComparison.Ordinal);
    }
}
