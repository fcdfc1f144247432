using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// A PostgreSQL server of the test's own (initdb + pg_ctl, as user postgres when run as root) on a free loopback port,
/// so a test can stop, restart and kill it without touching the shared test server. Removed on dispose.
/// </summary>
public sealed class RestartablePostgres : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _bin;

    private readonly int _maxConnections;

    private RestartablePostgres(string directory, string bin, int port, int maxConnections)
    {
        _directory = directory;
        _bin = bin;
        Port = port;
        _maxConnections = maxConnections;
    }

    public int Port { get; }

    public string LogFile => Path.Combine(_directory, "server.log");

    /// <summary>The server's <c>postgres</c> database, as superuser.</summary>
    public string ServerConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";

    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>Starts a server of its own; <paramref name="maxConnections"/> as configured (a stock Debian server has 100).</summary>
    public static async Task<RestartablePostgres> StartAsync(int maxConnections = 200)
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
            ?? throw new InvalidOperationException("No PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql).");
        var directory = Directory.CreateTempSubdirectory("incidentbot-faults-pg-").FullName;
        var server = new RestartablePostgres(directory, bin, FreePort(), maxConnections);
        await RunAsync("chown", "postgres", directory);
        await RunAsPostgresAsync(Path.Combine(bin, "initdb"), "-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync");
        await server.StartServerAsync();
        return server;
    }

    /// <summary>A fresh database on this server; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"incidentbot_fault_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name, Pooling = true }.ToString();
    }

    /// <summary>Stops the server at once (<c>-m immediate</c>: every connection is cut, as in a crash).</summary>
    public Task StopAsync() => RunAsPostgresAsync(Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "-w", "stop");

    // fsync off is safe here (the machine does not crash, only the server), but commits stay synchronous:
    // an immediate stop would lose asynchronously committed work the bot was told was stored.
    public Task StartServerAsync() => RunAsPostgresAsync(
        Path.Combine(_bin, "pg_ctl"), "-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
        "-o", $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections={_maxConnections}",
        "start");

    /// <summary>Ends every session on <paramref name="database"/> but the caller's, as an administrator (or a failover) would.</summary>
    public async Task<int> TerminateConnectionsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @Database AND pid <> pg_backend_pid()", connection);
        command.Parameters.AddWithValue("Database", database);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_directory, recursive: true);
    }

    internal static Task RunAsPostgresAsync(string program, params string[] arguments) =>
        Environment.UserName == "root"
            ? RunAsync("runuser", ["-u", "postgres", "--", program, .. arguments])
            : RunAsync(program, arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
