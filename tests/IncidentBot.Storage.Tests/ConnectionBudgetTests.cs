using Dapper;
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
    }
}

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
}
