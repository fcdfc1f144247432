using System.Diagnostics;
using System.Net;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Processes;

namespace IncidentBot.Benchmarks;

/// <summary>
/// The built host as a benchmark's bot instance, on a database of the benchmark's: logging warnings and worse,
/// echoing its errors to this console as <c>[host]</c> lines, and driven over HTTP by <see cref="Client"/>.
/// </summary>
internal sealed class BenchmarkHost : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly BotProcess _process;
    private readonly int _concurrency;

    private BenchmarkHost(BotProcess process, int concurrency)
    {
        _process = process;
        _concurrency = concurrency;
        Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) });
    }

    /// <summary>A client for up to the concurrency the host was started with; its base address is set once the host is ready.</summary>
    public HttpClient Client { get; }

    /// <summary>
    /// Starts the host on <paramref name="database"/> with a scheduler cluster of its own; <paramref name="settings"/>
    /// (environment variables) add to that or override it. Wait for <see cref="WaitUntilReadyAsync"/> before using it.
    /// </summary>
    public static BenchmarkHost Start(TestDatabase database, IReadOnlyDictionary<string, string?> settings, int concurrency = 1)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Logging__LogLevel__Default"] = "Warning",
            // The lifetime's "Now listening on" line is how the host's address is learned.
            ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            ["Database__Provider"] = database.Provider.ToString(),
            ["ConnectionStrings__IncidentBot"] = database.ConnectionString,
            ["Scheduler__Name"] = $"bench-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        var process = BotProcess.Start(
            environment,
            onOutputLine: line =>
            {
                if (line.Contains("fail", StringComparison.OrdinalIgnoreCase))
                {
                    Echo(line);
                }
            },
            onErrorLine: Echo);
        return new BenchmarkHost(process, concurrency);
    }

    /// <summary>Waits until the host listens and its /readyz answers 200.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        Client.BaseAddress = await _process.WaitUntilListeningAsync(StartTimeout, cancellationToken);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            using var response = await Client.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new InvalidOperationException("The host did not become ready.");
    }

    /// <summary>
    /// Sends <paramref name="count"/> requests built by <paramref name="build"/> from their index, over as many
    /// connections as the host was started for: back to back (closed loop, the bot's saturation), or with
    /// <paramref name="ratePerSecond"/> above 0 request i is due i/rate seconds after the start (open loop, the
    /// latency a steady stream of users sees). An open-loop latency counts from the due time, so a bot that falls
    /// behind is charged for the queue it built up.
    /// </summary>
    public async Task<LoadResult> MeasureAsync(int count, Func<int, HttpRequestMessage> build, CancellationToken cancellationToken, double ratePerSecond = 0)
    {
        var samples = new TimeSpan[count];
        var acknowledged = new bool[count];
        var failures = 0;
        var next = -1;
        var total = Stopwatch.StartNew();
        var origin = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, _concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                using var request = build(i);
                var started = Stopwatch.GetTimestamp();
                if (ratePerSecond > 0)
                {
                    started = origin + (long)(i / ratePerSecond * Stopwatch.Frequency);
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), started);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                }

                using var response = await Client.SendAsync(request, cancellationToken);
                await response.Content.ReadAsByteArrayAsync(cancellationToken);
                samples[i] = Stopwatch.GetElapsedTime(started);
                acknowledged[i] = response.StatusCode == HttpStatusCode.OK;
                if (!acknowledged[i])
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        total.Stop();
        return new LoadResult(new LatencyStats(samples), total.Elapsed, failures, ratePerSecond, acknowledged);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _process.DisposeAsync();
    }

    private static void Echo(string line) => Console.Error.WriteLine($"[host] {line}");
}
