using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;

namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// Debian's PgBouncer (<c>apt-get install pgbouncer</c>) in transaction pooling mode, in front of
/// <paramref name="server"/>, on a free loopback port of its own; stopped and removed on dispose. Its other settings are
/// the package's defaults (20 server connections per database and user).
/// </summary>
public sealed class PgBouncer : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/pgbouncer";

    private readonly string _directory;
    private readonly Process _process;

    private PgBouncer(string directory, Process process, int port)
    {
        _directory = directory;
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string LogFile => Path.Combine(_directory, "pgbouncer.log");

    /// <summary>
    /// <paramref name="directConnectionString"/> pointed at this PgBouncer, with the settings transaction pooling needs:
    /// no reset query on return to the pool (PgBouncer's server connections are not this client's), no prepared statements.
    /// </summary>
    public string Through(string directConnectionString) => new NpgsqlConnectionStringBuilder(directConnectionString)
    {
        Port = Port,
        NoResetOnClose = true,
        MaxAutoPrepare = 0,
    }.ToString();

    public static async Task<PgBouncer> StartAsync(RestartablePostgres server)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: apt-get install pgbouncer (./scripts/test.sh installs it).");
        }

        var directory = Directory.CreateTempSubdirectory("incidentbot-pgbouncer-").FullName;
        var port = FreePort();
        await File.WriteAllTextAsync(Path.Combine(directory, "userlist.txt"), "\"postgres\" \"\"\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "pgbouncer.ini"), $"""
            [databases]
            * = host=127.0.0.1 port={server.Port}

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {directory}/userlist.txt
            pool_mode = transaction
            max_client_conn = 1000
            ignore_startup_parameters = extra_float_digits
            logfile = {directory}/pgbouncer.log
            pidfile = {directory}/pgbouncer.pid
            """);
        var start = new ProcessStartInfo(Environment.UserName == "root" ? "runuser" : Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Environment.UserName == "root")
        {
            // PgBouncer refuses to run as root.
            await RunAsync("chown", "-R", "postgres", directory);
            foreach (var argument in new[] { "-u", "postgres", "--", Binary })
            {
                start.ArgumentList.Add(argument);
            }
        }

        start.ArgumentList.Add(Path.Combine(directory, "pgbouncer.ini"));
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var bouncer = new PgBouncer(directory, process, port);
        await bouncer.WaitUntilAcceptingAsync(server);
        return bouncer;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task WaitUntilAcceptingAsync(RestartablePostgres server)
    {
        var through = Through(server.ServerConnectionString);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(through);
                await connection.OpenAsync();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException && clock.Elapsed < TimeSpan.FromSeconds(15) && !_process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (Exception ex)
            {
                var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile) : "(no log)";
                throw new InvalidOperationException($"PgBouncer did not accept connections: {ex.Message}\n{log}", ex);
            }
        }
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        await process.WaitForExitAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
