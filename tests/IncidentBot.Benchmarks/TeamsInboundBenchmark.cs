using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Benchmarks;

/// <summary>
/// Answer latency and throughput of JWT-authenticated Teams activities on POST /api/messages (token validated
/// against the fake issuer's JWKS on every request), against the built host as a real process, on SQLite and
/// (when INCIDENTBOT_TEST_POSTGRES is set) PostgreSQL. Workloads: war-room messages captured on the timeline,
/// and @IncidentBot note commands. Options: --requests N (default 2000), --concurrency C (default 32), --sqlite-only.
/// </summary>
public sealed class TeamsInboundBenchmark : IBenchmark
{
    private const string Chat = "19:benchmark-war-room@thread.v2";

    public string Name => "teams-inbound";

    public string Description => "Teams /api/messages answer latency p50/p99 and throughput (captured messages, note commands), SQLite and PostgreSQL";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var requests = Option(args, "--requests", 2000);
        var concurrency = Option(args, "--concurrency", 32);
        var providers = new List<TestDatabase> { new SqliteTestDatabase() };
        if (!args.Contains("--sqlite-only") && Environment.GetEnvironmentVariable(PostgresTestDatabase.ServerVariable) is { Length: > 0 })
        {
            providers.Add(new PostgresTestDatabase());
        }

        Console.WriteLine($"teams-inbound: {requests} requests per workload, {concurrency} concurrent connections, {Environment.ProcessorCount} cores");
        await using var issuer = await FakeBotFrameworkIssuer.StartAsync();
        await using var connector = await FakeBotConnector.StartAsync();
        foreach (var database in providers)
        {
            await database.InitializeAsync();
            try
            {
                await RunOnAsync(database, issuer, connector, requests, concurrency, cancellationToken);
            }
            finally
            {
                await database.DisposeAsync();
            }
        }

        return 0;
    }

    private static async Task RunOnAsync(TestDatabase database, FakeBotFrameworkIssuer issuer, FakeBotConnector connector, int requests, int concurrency, CancellationToken cancellationToken)
    {
        var port = FreePort();
        using var host = StartHost(database, issuer, port);
        try
        {
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitHealthyAsync(client, host, cancellationToken);
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
                (await client.SendAsync(declare, cancellationToken)).EnsureSuccessStatusCode();
            }

            await MeasureAsync(client, 200, concurrency, i => Post(activities.Message(Chat, user, $"warm-up {i}", "groupChat")), cancellationToken);
            Report(database.Provider, "war-room message", await MeasureAsync(client, requests, concurrency,
                i => Post(activities.Message(Chat, user, $"benchmark message {i}", "groupChat")), cancellationToken));
            Report(database.Provider, "note command", await MeasureAsync(client, requests, concurrency,
                i => Post(activities.Command(Chat, user, $"note benchmark note {i}", "groupChat")), cancellationToken));
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<(LatencyStats Stats, TimeSpan Elapsed, int Failures)> MeasureAsync(
        HttpClient client, int count, int concurrency, Func<int, HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var samples = new TimeSpan[count];
        var failures = 0;
        var next = -1;
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var request = build(i);
                var started = Stopwatch.GetTimestamp();
                using var response = await client.SendAsync(request, cancellationToken);
                await response.Content.ReadAsByteArrayAsync(cancellationToken);
                samples[i] = Stopwatch.GetElapsedTime(started);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        total.Stop();
        return (new LatencyStats(samples), total.Elapsed, failures);
    }

    private static void Report(DatabaseProvider provider, string workload, (LatencyStats Stats, TimeSpan Elapsed, int Failures) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{provider,-8} {workload,-18} {result.Stats.Describe()} throughput={result.Stats.Count / result.Elapsed.TotalSeconds:F0} req/s non-200={result.Failures}"));

    private static Process StartHost(TestDatabase database, FakeBotFrameworkIssuer issuer, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Database__Provider"] = database.Provider.ToString();
        start.Environment["ConnectionStrings__IncidentBot"] = database.ConnectionString;
        start.Environment["Scheduler__Name"] = $"bench-{Guid.NewGuid():N}";
        start.Environment["Teams__AppId"] = issuer.ClientId;
        start.Environment["Teams__AppPassword"] = issuer.ClientSecret;
        start.Environment["Teams__TenantId"] = "tenant-under-test";
        start.Environment["Teams__OpenIdMetadataUrl"] = issuer.OpenIdMetadataUrl;
        start.Environment["Teams__TokenEndpoint"] = issuer.TokenEndpoint;
        start.Environment["Teams__AllowedServiceHosts__0"] = "127.0.0.1";
        var process = Process.Start(start) ?? throw new InvalidOperationException("The host did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[host] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(HttpClient client, Process host, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !host.HasExited)
        {
            try
            {
                using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new InvalidOperationException("The host did not become ready.");
    }

    private static string HostAssemblyPath()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var root = bin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IncidentBot.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root!.FullName, "src", "IncidentBot", "bin", bin.Parent!.Name, bin.Name, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/IncidentBot in the same configuration first.", path);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
