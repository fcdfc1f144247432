using IncidentBot.TestKit.Databases;

namespace IncidentBot.Benchmarks;

/// <summary>
/// The frame of an HTTP load benchmark against the host: <c>--requests</c> per workload, <c>--concurrency</c>
/// connections, <c>--rate</c> requests per second (open loop; 0, the default, sends back to back), and one run on
/// SQLite and one on PostgreSQL (when INCIDENTBOT_TEST_POSTGRES is set and <c>--sqlite-only</c> is not given),
/// each on a fresh database.
/// </summary>
internal sealed record HttpLoad(string Benchmark, int Requests, int Concurrency, int Rate, bool SqliteOnly)
{
    public static HttpLoad FromArguments(string benchmark, string[] args, int defaultRequests, int defaultConcurrency) => new(
        benchmark,
        BenchmarkArguments.Int(args, "--requests", defaultRequests),
        BenchmarkArguments.Int(args, "--concurrency", defaultConcurrency),
        BenchmarkArguments.Int(args, "--rate", 0),
        args.Contains("--sqlite-only"));

    public async Task RunOnEachDatabaseAsync(Func<TestDatabase, Task> run)
    {
        var pace = Rate > 0 ? $"{Rate} req/s offered" : "back to back";
        Console.WriteLine($"{Benchmark}: {Requests} requests per workload, {Concurrency} concurrent connections, {pace}, {Environment.ProcessorCount} cores");
        foreach (var database in Databases())
        {
            await database.InitializeAsync();
            try
            {
                await run(database);
            }
            finally
            {
                await database.DisposeAsync();
            }
        }
    }

    private IEnumerable<TestDatabase> Databases()
    {
        yield return new SqliteTestDatabase();
        if (!SqliteOnly && Environment.GetEnvironmentVariable(PostgresTestDatabase.ServerVariable) is { Length: > 0 })
        {
            yield return new PostgresTestDatabase();
        }
    }
}
