using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Benchmarks;

/// <summary>
/// Answer latency and throughput of JWT-authenticated Teams activities on POST /api/messages (token validated
/// against the fake issuer's JWKS on every request), against the built host as a real process, on SQLite and
/// (when INCIDENTBOT_TEST_POSTGRES is set) PostgreSQL. Workloads: war-room messages captured on the timeline,
/// and @IncidentBot note commands. Options: --requests N (default 2000), --concurrency C (default 32), --rate R (open loop), --sqlite-only.
/// </summary>
public sealed class TeamsInboundBenchmark : IBenchmark
{
    private const string Chat = "19:benchmark-war-room@thread.v2";

    public string Name => "teams-inbound";

    public string Description => "Teams /api/messages answer latency p50/p99 and throughput (captured messages, note commands), SQLite and PostgreSQL";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var load = HttpLoad.FromArguments(Name, args, defaultRequests: 2000, defaultConcurrency: 32);
        await using var issuer = await FakeBotFrameworkIssuer.StartAsync();
        await using var connector = await FakeBotConnector.StartAsync();
        await load.RunOnEachDatabaseAsync(database => RunOnAsync(database, issuer, connector, load, cancellationToken));
        return 0;
    }

    private static async Task RunOnAsync(TestDatabase database, FakeBotFrameworkIssuer issuer, FakeBotConnector connector, HttpLoad load, CancellationToken cancellationToken)
    {
        await using var host = BenchmarkHost.Start(database, new Dictionary<string, string?>
        {
            ["Teams__AppId"] = issuer.ClientId,
            ["Teams__AppPassword"] = issuer.ClientSecret,
            ["Teams__TenantId"] = TeamsActivities.TenantId,
            ["Teams__OpenIdMetadataUrl"] = issuer.OpenIdMetadataUrl,
            ["Teams__TokenEndpoint"] = issuer.TokenEndpoint,
            ["Teams__AllowedServiceHosts__0"] = "127.0.0.1",
        }, load.Concurrency);
        await host.WaitUntilReadyAsync(cancellationToken);
        var activities = new TeamsActivities(connector.ServiceUrl);
        var user = new TeamsUser("29:bench-mri", "aad-bench", "Bench");
        var token = issuer.Mint(new TokenSpec { Audience = issuer.ClientId, ServiceUrl = connector.ServiceUrl, Lifetime = TimeSpan.FromHours(2) });

        HttpRequestMessage Post(JsonObject activity)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return request;
        }

        using (var declare = Post(activities.Command(Chat, user, "declare sev3 Benchmark incident", "groupChat")))
        {
            (await host.Client.SendAsync(declare, cancellationToken)).EnsureSuccessStatusCode();
        }

        await host.MeasureAsync(200, i => Post(activities.Message(Chat, user, $"warm-up {i}", "groupChat")), cancellationToken);
        (await host.MeasureAsync(load.Requests, i => Post(activities.Message(Chat, user, $"benchmark message {i}", "groupChat")), cancellationToken, load.Rate))
            .Report(database.Provider, "war-room message");
        (await host.MeasureAsync(load.Requests, i => Post(activities.Command(Chat, user, $"note benchmark note {i}", "groupChat")), cancellationToken, load.Rate))
            .Report(database.Provider, "note command");
    }
}
