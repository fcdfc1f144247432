using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Benchmarks;

/// <summary>
/// Ack latency and throughput of signed Slack slash commands and message events against the built host
/// as a real process on Kestrel, at 64 concurrent connections, on SQLite and (when
/// INCIDENTBOT_TEST_POSTGRES is set) PostgreSQL. Slack's Web API is the test kit's fake.
/// Options: --requests N (per workload, default 3000), --concurrency C (default 64), --sqlite-only.
/// </summary>
public sealed class SlackAckBenchmark : IBenchmark
{
    private const string Secret = SlackSigner.TestSecret;
    private const string ApiToken = "benchmark-token-0123456789";

    public string Name => "slack-ack";

    public string Description => "Slack ack latency p50/p99 and throughput (commands, message events) at 64 connections, SQLite and PostgreSQL";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var requests = Option(args, "--requests", 3000);
        var concurrency = Option(args, "--concurrency", 64);
        var providers = new List<TestDatabase> { new SqliteTestDatabase() };
        if (!args.Contains("--sqlite-only") && Environment.GetEnvironmentVariable(PostgresTestDatabase.ServerVariable) is { Length: > 0 })
        {
            providers.Add(new PostgresTestDatabase());
        }

        Console.WriteLine($"slack-ack: {requests} requests per workload, {concurrency} concurrent connections, {Environment.ProcessorCount} cores");
        foreach (var database in providers)
        {
            await database.InitializeAsync();
            try
            {
                await using var slack = await FakeSlackServer.StartAsync();
                var general = slack.AddChannel("general");
                await RunOnAsync(database, slack, general.Id, requests, concurrency, cancellationToken);
            }
            finally
            {
                await database.DisposeAsync();
            }
        }

        return 0;
    }

    private static async Task RunOnAsync(TestDatabase database, FakeSlackServer slack, string general, int requests, int concurrency, CancellationToken cancellationToken)
    {
        var port = FreePort();
        using var host = StartHost(database, slack, port);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        await WaitHealthyAsync(client, host.Process, cancellationToken);
        var signer = new SlackSigner(Secret);

        // One incident per connection, so commands measure the ack path rather than optimistic-concurrency
        // retries on a single incident; messages all go to the first incident's war room.
        for (var n = 0; n < concurrency; n++)
        {
            var declared = await client.SendAsync(signer.Form("/slack/commands", SlackPayloads.Command($"declare sev3 Benchmark incident {n}", "UBENCH", "bench", general)), cancellationToken);
            declared.EnsureSuccessStatusCode();
        }

        var room = await WaitForWarRoomAsync(client, cancellationToken);

        // Let the outbox finish opening the war rooms, so their creation does not compete with the measurement.
        var settle = DateTime.UtcNow.AddSeconds(120);
        while (slack.Channels.Values.Count(c => c.Name.StartsWith("inc-", StringComparison.Ordinal)) < concurrency && DateTime.UtcNow < settle)
        {
            await Task.Delay(200, cancellationToken);
        }

        // Warm-up: JIT, connection pools, SQLite pages.
        await MeasureAsync(client, 200, concurrency, i => signer.Form("/slack/commands", SlackPayloads.Command($"note INC-{1 + i % concurrency} warm-up {i}", "UBENCH", "bench", room)), cancellationToken);

        var commands = await MeasureAsync(client, requests, concurrency,
            i => signer.Form("/slack/commands", SlackPayloads.Command($"note INC-{1 + i % concurrency} benchmark note {i}", "UBENCH", "bench", room)), cancellationToken);
        Report(database.Provider, "slash command (note)", commands);

        var baseTs = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var events = await MeasureAsync(client, requests, concurrency,
            i => signer.Json("/slack/events", SlackPayloads.EventCallback(SlackPayloads.Message(room, "UBENCH", $"{baseTs}.{i:D6}", $"benchmark message {i}"))), cancellationToken);
        Report(database.Provider, "message event", events);
    }

    private static async Task<(LatencyStats Stats, TimeSpan Elapsed, int Failures)> MeasureAsync(
        HttpClient client, int count, int concurrency, Func<int, HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var samples = new TimeSpan[count];
        var failures = 0;
        var next = -1;
        var total = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
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
        }).ToList();
        await Task.WhenAll(workers);
        total.Stop();
        return (new LatencyStats(samples), total.Elapsed, failures);
    }

    private static void Report(DatabaseProvider provider, string workload, (LatencyStats Stats, TimeSpan Elapsed, int Failures) result) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{provider,-8} {workload,-22} {result.Stats.Describe()} throughput={result.Stats.Count / result.Elapsed.TotalSeconds:F0} req/s non-200={result.Failures}"));

    private static HostRun StartHost(TestDatabase database, FakeSlackServer slack, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Database__Provider"] = database.Provider.ToString();
        start.Environment["ConnectionStrings__IncidentBot"] = database.ConnectionString;
        start.Environment["Api__Tokens__0"] = ApiToken;
        start.Environment["Scheduler__Name"] = $"bench-{Guid.NewGuid():N}";
        start.Environment["Slack__SigningSecret"] = Secret;
        start.Environment["Slack__BotToken"] = FakeSlackServer.BotToken;
        start.Environment["Slack__ApiBaseUrl"] = slack.ApiBaseUrl.ToString();
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
        return new HostRun(process);
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
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new InvalidOperationException("The host did not become ready.");
    }

    private static async Task<string> WaitForWarRoomAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/incidents/1");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiToken);
            using var response = await client.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                var root = json.RootElement.TryGetProperty("incident", out var wrapped) ? wrapped : json.RootElement;
                if (root.TryGetProperty("warRooms", out var rooms) && rooms.GetArrayLength() > 0)
                {
                    return rooms[0].GetProperty("channel").GetString()!;
                }
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new InvalidOperationException("The war room was not created.");
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
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    private static string HostAssemblyPath()
    {
        // tests/IncidentBot.Benchmarks/bin/<Configuration>/<tfm>/ → src/IncidentBot/bin/<Configuration>/<tfm>/IncidentBot.dll
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var root = bin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IncidentBot.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root!.FullName, "src", "IncidentBot", "bin", bin.Parent!.Name, bin.Name, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the host first.", path);
    }

    /// <summary>The host process; disposing it stops the host.</summary>
    private sealed class HostRun(Process process) : IDisposable
    {
        public Process Process { get; } = process;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }
}
