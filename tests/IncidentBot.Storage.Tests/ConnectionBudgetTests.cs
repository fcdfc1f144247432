using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace IncidentBot.Storage.Tests;

public sealed class ConnectionBudgetTests
{
    [Theory]
    [InlineData(20, 14, 5)]
    [InlineData(6, 3, 2)]
    [InlineData(100, 89, 10)]
    public void Split_SharesEveryConnectionOnce(int max, int store, int scheduler)
    {
        var budget = ConnectionBudget.Split(max);

        Assert.Equal((max, store, scheduler, 1), (budget.Max, budget.Store, budget.Scheduler, budget.Listener));
        Assert.Equal(max, budget.Store + budget.Scheduler + budget.Listener);
        Assert.InRange(budget.Background, 1, budget.Store - 1);
    }

    [Theory]
    [InlineData("Host=pgbouncer;Database=incidentbot;Max Auto Prepare=0", 0)]
    [InlineData("Host=pgbouncer;Database=incidentbot;maxautoprepare=0", 0)]
    [InlineData("Host=db;Database=incidentbot;Max Auto Prepare=10", 10)]
    [InlineData("Host=db;Database=incidentbot", ConnectionBudget.AutoPrepared)]
    public void ForStore_AutoPreparesUnlessTheConnectionStringSaysOtherwise(string connectionString, int prepared)
    {
        var store = new NpgsqlConnectionStringBuilder(ConnectionBudget.Split(20).ForStore(connectionString));

        Assert.Equal(prepared, store.MaxAutoPrepare);
    }

    [Fact]
    public void ForStoreAndScheduler_BoundTheirPoolsSeparately()
    {
        var budget = ConnectionBudget.Split(20);

        var store = new NpgsqlConnectionStringBuilder(budget.ForStore("Host=db;Database=incidentbot;Minimum Pool Size=30"));
        var scheduler = new NpgsqlConnectionStringBuilder(budget.ForScheduler("Host=db;Database=incidentbot"));

        Assert.Equal((14, 14, "incidentbot"), (store.MaxPoolSize, store.MinPoolSize, store.ApplicationName));
        Assert.Equal((5, "incidentbot-scheduler"), (scheduler.MaxPoolSize, scheduler.ApplicationName));
        Assert.True(store.NoResetOnClose && scheduler.NoResetOnClose, "no DISCARD ALL on every reuse of a pooled connection");
        Assert.Equal((ConnectionBudget.AutoPrepared, ConnectionBudget.AutoPrepared), (store.MaxAutoPrepare, scheduler.MaxAutoPrepare));
    }
}

/// <summary>Npgsql's pool metrics are process-wide and keyed by pool name: no other store may be open beside these.</summary>
[CollectionDefinition(nameof(PoolMetrics), DisableParallelization = true)]
public sealed class PoolMetrics;

[Collection(nameof(PoolMetrics))]
public sealed class PostgresConnectionBudgetTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task ManyRequestsAtOnce_NeverOpenMoreThanTheStoresShare_AndAllComplete()
    {
        await using var services = _database.CreateServices(settings: [new(DatabaseOptions.MaxConnectionsKey, "8")]);
        var database = services.GetRequiredService<IDbConnectionFactory>();
        var most = 0;
        using var stop = new CancellationTokenSource();
        var watch = Task.Run(async () =>
        {
            await using var admin = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
            await admin.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                var open = await admin.ExecuteScalarAsync<int>(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = @Name",
                    new { Name = ConnectionBudget.StoreApplicationName });
                most = Math.Max(most, open);
                await Task.Delay(20);
            }
        });

        var done = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ =>
            database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1 FROM pg_sleep(0.2)"), default)));
        await stop.CancelAsync();
        await watch;

        Assert.Equal(24, done.Sum());
        Assert.InRange(most, 1, ConnectionBudget.Split(8).Store);
    }

    [Fact]
    public async Task BackgroundWork_HoldingItsShare_LeavesTheRestOfThePoolToRequests_AndPoolsShowIt()
    {
        // The least budget: a store pool of 3, of which background work may hold 2. A request waits at most 2 s for one.
        var connectionString = _database.ConnectionString + ";Timeout=2";
        await using var services = _database.CreateServices(settings:
        [
            new(DatabaseOptions.MaxConnectionsKey, ConnectionBudget.LeastMax.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new(DatabaseOptions.ConnectionStringKey, connectionString),
        ]);
        var database = services.GetRequiredService<IDbConnectionFactory>();
        var pools = services.GetRequiredService<ConnectionPools>();
        var budget = ConnectionBudget.Split(ConnectionBudget.LeastMax);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = 0;

        // A backlog of deliveries, each holding its connection until released.
        var backlog = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            BackgroundWork.Enter();
            await using var connection = await database.OpenConnectionAsync(default);
            Interlocked.Increment(ref holding);
            await release.Task;
            return await connection.ExecuteScalarAsync<int>("SELECT 1");
        })).ToList();
        await WaitUntilAsync(() => Volatile.Read(ref holding) == budget.Background && pools.Snapshot()[ConnectionPools.Background].Waits == 8 - budget.Background);

        // Inbound requests still find a connection, one after another and two at once.
        Assert.Equal(1, await database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default));
        var inbound = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1 FROM pg_sleep(0.1)"), default)));
        Assert.Equal([1, 1], inbound);

        var snapshot = pools.Snapshot();
        Assert.Equal(budget.Background, Volatile.Read(ref holding));
        Assert.Equal(new PoolUse(budget.Background, budget.Background, null, 0, 8 - budget.Background, null), snapshot[ConnectionPools.Background]);
        Assert.Equal(budget.Store, snapshot[ConnectionPools.Store].Max);
        Assert.Equal(budget.Background, snapshot[ConnectionPools.Store].Busy);
        Assert.Equal(0, snapshot[ConnectionPools.Store].Timeouts);

        release.SetResult();
        Assert.Equal(8, (await Task.WhenAll(backlog)).Sum());
        Assert.Equal(0, pools.Snapshot()[ConnectionPools.Background].Busy);
    }

    [Fact]
    public async Task PoolExhaustedByRequests_ARequestWaitsOnlyThePoolWaitNotTheConnectTimeout_CountedInPools()
    {
        // The connection string's Timeout (15 s by default) bounds opening a connection; a request waits for a busy
        // pool only Database:PoolWait (here on a fake clock), then is refused.
        var clock = TestClock.StartingNow();
        await using var services = _database.CreateServices(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            [
                new(DatabaseOptions.MaxConnectionsKey, ConnectionBudget.LeastMax.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new(DatabaseOptions.PoolWaitKey, "00:00:01"),
            ]);
        var database = services.GetRequiredService<IDbConnectionFactory>();
        var pools = services.GetRequiredService<ConnectionPools>();
        var held = await HoldStorePoolAsync(database);

        var request = database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default);
        await WaitUntilAsync(() => pools.Snapshot()[ConnectionPools.Store].Waiting == 1);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(request.IsCompleted, "refused before its pool wait was over");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var refused = await Assert.ThrowsAsync<StorePoolExhaustedException>(() => request);
        await ReleaseAsync(held);

        var store = pools.Snapshot()[ConnectionPools.Store];
        Assert.IsType<TimeoutException>(refused.InnerException);
        Assert.Contains(DatabaseOptions.PoolWaitKey, refused.Message, StringComparison.Ordinal);
        Assert.Equal((0, 1L, 1L), (store.Waiting, store.Waits, store.Timeouts));
        Assert.Equal(1, await database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default));
    }

    [Fact]
    public async Task PoolExhaustedByRequests_BackgroundWorkWaitsPastThePoolWait_AndGetsTheNextFreeConnection()
    {
        var clock = TestClock.StartingNow();
        await using var services = _database.CreateServices(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            [new(DatabaseOptions.MaxConnectionsKey, ConnectionBudget.LeastMax.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        var database = services.GetRequiredService<IDbConnectionFactory>();
        var pools = services.GetRequiredService<ConnectionPools>();
        var held = await HoldStorePoolAsync(database);

        var delivery = Task.Run(async () =>
        {
            BackgroundWork.Enter();
            return await database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default);
        });
        await WaitUntilAsync(() => pools.Snapshot()[ConnectionPools.Store].Waiting == 1);
        clock.Advance(new DatabaseOptions().PoolWait * 5);
        var request = database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default);
        await WaitUntilAsync(() => pools.Snapshot()[ConnectionPools.Store].Waiting == 2);
        clock.Advance(new DatabaseOptions().PoolWait);
        await Assert.ThrowsAsync<StorePoolExhaustedException>(() => request);

        Assert.False(delivery.IsCompleted, "background work gave up at the requests' pool wait");
        await held[0].DisposeAsync();
        Assert.Equal(1, await delivery);
        await ReleaseAsync(held.Skip(1));
    }

    [Fact]
    public async Task SlowToOpenConnection_PoolNotBusy_KeepsTheConnectTimeoutNotThePoolWait()
    {
        // A server far away (TLS, authentication) can take longer to open a connection than a request waits for a
        // busy pool: with a free slot, the open is bounded by the connection string's Timeout only.
        var clock = TestClock.StartingNow();
        await using var slow = await HeldOpenProxy.StartAsync(new NpgsqlConnectionStringBuilder(_database.ConnectionString));
        var connectionString = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Host = "127.0.0.1", Port = slow.Port }.ConnectionString;
        await using var services = _database.CreateServices(
            builder => builder.Services.AddSingleton<TimeProvider>(clock),
            [new(DatabaseOptions.ConnectionStringKey, connectionString), new(DatabaseOptions.PoolWaitKey, "00:00:01")]);
        var database = services.GetRequiredService<IDbConnectionFactory>();

        var request = database.RunAsync(connection => connection.ExecuteScalarAsync<int>("SELECT 1"), default);
        await WaitUntilAsync(() => slow.Accepted == 1);
        clock.Advance(TimeSpan.FromSeconds(5));
        slow.Release();

        Assert.Equal(1, await request);
    }

    /// <summary>A TCP proxy to PostgreSQL that holds each connection it accepts until released: a connection slow to open.</summary>
    private sealed class HeldOpenProxy : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<System.Net.Sockets.TcpClient> _clients = [];
        private Task _loop = Task.CompletedTask;
        private int _accepted;

        public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public static Task<HeldOpenProxy> StartAsync(NpgsqlConnectionStringBuilder server)
        {
            var proxy = new HeldOpenProxy();
            proxy._listener.Start();
            proxy._loop = proxy.AcceptAsync(server.Host!, server.Port);
            return Task.FromResult(proxy);
        }

        public void Release() => _released.TrySetResult();

        private async Task AcceptAsync(string host, int port)
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    _ = PipeAsync(client, host, port);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task PipeAsync(System.Net.Sockets.TcpClient client, string host, int port)
        {
            var server = new System.Net.Sockets.TcpClient();
            lock (_clients)
            {
                _clients.Add(client);
                _clients.Add(server);
            }

            try
            {
                await _released.Task.WaitAsync(_stop.Token);
                await server.ConnectAsync(host, port, _stop.Token);
                await Task.WhenAny(
                    client.GetStream().CopyToAsync(server.GetStream(), _stop.Token),
                    server.GetStream().CopyToAsync(client.GetStream(), _stop.Token));
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException)
            {
                // Stopped, or one side hung up.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            lock (_clients)
            {
                _clients.ForEach(c => c.Dispose());
            }

            _stop.Dispose();
        }
    }

    private static async Task<List<System.Data.Common.DbConnection>> HoldStorePoolAsync(IDbConnectionFactory database)
    {
        var held = new List<System.Data.Common.DbConnection>();
        for (var i = 0; i < ConnectionBudget.Split(ConnectionBudget.LeastMax).Store; i++)
        {
            held.Add(await database.OpenConnectionAsync(default));
        }

        return held;
    }

    private static async Task ReleaseAsync(IEnumerable<System.Data.Common.DbConnection> held)
    {
        foreach (var connection in held)
        {
            await connection.DisposeAsync();
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
