using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Graph;
using IncidentBot.TestKit.Teams;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Tests;

/// <summary>The Graph client against the fake Graph over real HTTP: app-only token, naming rules, typed errors, Retry-After.</summary>
public sealed class GraphClientTests : IAsyncLifetime
{
    private const string TeamA = "2b1f0c4e-0000-4000-8000-00000000aa01";
    private FakeGraph _graph = null!;
    private HttpClient _http = null!;
    private FakeLogger<GraphClient> _logger = null!;
    private GraphClient _client = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraph.StartAsync(TeamA);
        _http = new HttpClient();
        _logger = new FakeLogger<GraphClient>();
        _client = Client(_graph.ClientSecret);
    }

    private GraphClient Client(string secret) => new(_http, Options.Create(new TeamsOptions
    {
        AppId = _graph.ClientId,
        AppPassword = secret,
        TenantId = FakeGraph.Tenant,
        GraphBaseUrl = _graph.GraphBaseUrl,
        GraphTokenEndpoint = _graph.TokenEndpoint,
        MaxRetries = 3,
        MaxRetryDelay = TimeSpan.FromSeconds(5),
    }), TimeProvider.System, _logger);

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _http.Dispose();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task CreateChannel_TokenFromTheTenantEndpointWithGraphScope_CachedAndSentAsBearer()
    {
        var client = _client;
        var first = await client.CreateChannelAsync(TeamA, "inc-1-checkout", "INC-1: Checkout", default);
        await client.CreateChannelAsync(TeamA, "inc-2-search", "INC-2: Search", default);

        Assert.StartsWith("19:", first.Id, StringComparison.Ordinal);
        Assert.Equal("inc-1-checkout", first.DisplayName);
        var request = Assert.Single(_graph.TokenRequests);
        Assert.Equal("client_credentials", request["grant_type"]);
        Assert.Equal("https://graph.microsoft.com/.default", request["scope"]);
        Assert.All(_graph.Calls, c => Assert.StartsWith("Bearer " + FakeGraph.IssuedTokenPrefix, c.Authorization, StringComparison.Ordinal));
        Assert.All(_logger.Collector.GetSnapshot(), l => Assert.DoesNotContain(FakeGraph.IssuedTokenPrefix, l.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void DefaultTokenEndpoint_IsTheTenantsOwn()
    {
        var options = new TeamsOptions { TenantId = "contoso-tenant" };
        Assert.Equal("https://login.microsoftonline.com/contoso-tenant/oauth2/v2.0/token", options.EffectiveGraphTokenEndpoint);
        Assert.Equal("https://graph.microsoft.com/v1.0/", options.GraphBaseUrl);
    }

    [Fact]
    public async Task CreateChannel_WrongSecret_TypedPermanentFailure()
    {
        using var client = Client("not-the-secret");
        var ex = await Assert.ThrowsAsync<GraphException>(() => client.CreateChannelAsync(TeamA, "inc-1", "INC-1", default));
        Assert.Equal(401, ex.Status);
        Assert.False(ex.IsTransient);
        Assert.Empty(_graph.Calls);
    }

    [Theory]
    [InlineData("inc#1")]
    [InlineData("_inc-1")]
    [InlineData(".inc-1")]
    [InlineData("inc-1.")]
    [InlineData("inc: 1")]
    public async Task CreateChannel_NameGraphRefuses_400Typed(string name)
    {
        var ex = await Assert.ThrowsAsync<GraphException>(() => _client.CreateChannelAsync(TeamA, name, "x", default));
        Assert.Equal(400, ex.Status);
        Assert.Equal("BadRequest", ex.Code);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task CreateChannel_DuplicateName_NameAlreadyExists()
    {
        _graph.AddChannel(TeamA, "inc-7-db");
        var ex = await Assert.ThrowsAsync<GraphException>(() => _client.CreateChannelAsync(TeamA, "INC-7-DB", "x", default));
        Assert.True(ex.NameAlreadyExists);
        Assert.Equal(409, ex.Status);
    }

    [Fact]
    public async Task CreateChannel_Throttled_WaitsRetryAfterThenSucceeds()
    {
        _graph.FailNext(1, 429, TimeSpan.FromSeconds(1));
        var channel = await _client.CreateChannelAsync(TeamA, "inc-3-throttled", "x", default);

        Assert.Equal("inc-3-throttled", channel.DisplayName);
        var calls = _graph.Calls;
        Assert.Equal([429, 201], calls.Select(c => c.Status));
        Assert.True(calls[1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromMilliseconds(900), "retried before Retry-After");
    }

    [Fact]
    public async Task CreateChannel_ThrottledPastMaxRetries_TransientTypedFailure()
    {
        _graph.FailNext(4, 503, TimeSpan.Zero);
        var ex = await Assert.ThrowsAsync<GraphException>(() => _client.CreateChannelAsync(TeamA, "inc-4", "x", default));
        Assert.Equal(503, ex.Status);
        Assert.True(ex.IsTransient);
        Assert.Equal(4, _graph.Calls.Count);
    }

    [Fact]
    public async Task Calls_OnOneTeam_PacedToFourASecond()
    {
        for (var i = 0; i < 5; i++)
        {
            await _client.CreateChannelAsync(TeamA, $"inc-{i}-paced", "x", default);
        }

        var calls = _graph.Calls;
        Assert.True(calls[^1].ReceivedAt - calls[0].ReceivedAt >= TimeSpan.FromMilliseconds(4 * 240), "five calls on one team came faster than 4 a second");
    }

    [Fact]
    public async Task ArchiveChannel_Accepted_ChannelArchived()
    {
        var channel = await _client.CreateChannelAsync(TeamA, "inc-5-archive", "x", default);
        await _client.ArchiveChannelAsync(TeamA, channel.Id, default);
        Assert.True(Assert.Single(_graph.Channels).Archived);
    }

    [Theory]
    [InlineData(42, "Checkout is down", "inc-42-checkout-is-down")]
    [InlineData(7, "~#%&*{}+/\\:<>?|'\" DB: 50% errors. _x_ ", "inc-7-db-50-errors-x")]
    [InlineData(8, "...", "inc-8")]
    public void ChannelNames_KeepGraphsRules(int number, string title, string expected)
    {
        Assert.Equal(expected, ChannelNames.For(new IncidentNumber(number), title));
    }

    [Fact]
    public void ChannelNames_LongTitle_AtMost50WithSuffix()
    {
        var title = string.Concat(Enumerable.Repeat("payment gateway timeouts ", 5));
        var first = ChannelNames.For(new IncidentNumber(12345), title);
        var third = ChannelNames.For(new IncidentNumber(12345), title, 3);
        Assert.True(first.Length <= 50, first);
        Assert.True(third.Length <= 50, third);
        Assert.EndsWith("-3", third, StringComparison.Ordinal);
        Assert.DoesNotContain("--", third, StringComparison.Ordinal);
        Assert.False(first.EndsWith('-'));
    }
}
