using IncidentBot.Core.Application;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

public sealed class StorageRegistrationTests
{
    [Fact]
    public async Task StartAsync_UnknownProvider_FailsWithOneMessageNamingTheKey()
    {
        using var host = BuildHost(new() { [DatabaseOptions.ProviderKey] = "Oracle" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal("Database:Provider must be Sqlite or Postgres (was 'Oracle')", error.Message);
    }

    [Fact]
    public async Task StartAsync_PostgresWithoutConnectionString_FailsWithOneMessageNamingTheKey()
    {
        using var host = BuildHost(new() { [DatabaseOptions.ProviderKey] = "Postgres" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal("ConnectionStrings:IncidentBot is required when Database:Provider is Postgres", error.Message);
    }

    [Fact]
    public async Task StartAsync_ConnectionBudgetTooSmall_FailsWithOneMessageNamingTheKey()
    {
        using var host = BuildHost(new() { [DatabaseOptions.MaxConnectionsKey] = "3" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal("Database:MaxConnections must be between 6 and 1000 (was 3)", error.Message);
    }

    [Theory]
    [InlineData("00:00:00", "was 00:00:00")]
    [InlineData("-00:00:01", "was -00:00:01")]
    [InlineData("00:01:00", "was 00:01:00")]
    public async Task StartAsync_PoolWaitOutOfRange_FailsWithOneMessageNamingTheKey(string configured, string shown)
    {
        using var host = BuildHost(new() { [DatabaseOptions.PoolWaitKey] = configured });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal($"Database:PoolWait must be more than 00:00:00 and at most 00:00:30, such as 00:00:02 ({shown})", error.Message);
    }

    [Fact]
    public async Task StartAsync_MalformedConnectionString_FailsNamingTheKey()
    {
        using var host = BuildHost(new() { [DatabaseOptions.ConnectionStringKey] = "Colour=blue" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.StartsWith("ConnectionStrings:IncidentBot is not a valid Sqlite connection string", error.Message);
    }

    [Theory]
    [InlineData("postgres", DatabaseProvider.Postgres)]
    [InlineData("POSTGRES", DatabaseProvider.Postgres)]
    [InlineData("Sqlite", DatabaseProvider.Sqlite)]
    [InlineData("sqlite", DatabaseProvider.Sqlite)]
    [InlineData("", DatabaseProvider.Sqlite)]
    public void AddStorage_ProviderNameInAnyCase_SelectsTheProvider(string configured, DatabaseProvider expected)
    {
        using var services = BuildServices(new()
        {
            [DatabaseOptions.ProviderKey] = configured,
            [DatabaseOptions.ConnectionStringKey] = expected == DatabaseProvider.Postgres
                ? "Host=127.0.0.1;Port=1;Username=nobody;Database=nothing"
                : "Data Source=never-opened.db",
        });

        Assert.Equal(expected, services.GetRequiredService<IDbConnectionFactory>().Provider);
    }

    [Fact]
    public void AddStorage_NoConfiguration_UsesTheSqliteFileDefault()
    {
        using var services = BuildServices([]);

        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;

        Assert.Equal(DatabaseProvider.Sqlite, options.GetProvider());
        Assert.Equal("Data Source=incidentbot.db", options.GetConnectionString());
        Assert.IsType<SqlIncidentStore>(services.GetRequiredService<IIncidentStore>());
        Assert.IsType<SqlOutbox>(services.GetRequiredService<IOutbox>());
        Assert.Same(TimeProvider.System, services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public void AddStorage_CalledAfterOtherHostedServices_PutsTheMigrationFirstOnce()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddHostedService<SchemaProbe>();

        builder.AddStorage();
        builder.AddStorage();

        var hosted = builder.Services.Where(d => d.ServiceType == typeof(IHostedService)).Select(d => d.ImplementationType).ToList();
        Assert.Equal([typeof(DatabaseMigrationService), typeof(SchemaProbe), typeof(RetentionPruner)], hosted);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.Postgres)]
    public async Task StartAsync_EmptyDatabase_IsMigratedBeforeOtherHostedServicesStart(DatabaseProvider provider)
    {
        TestDatabase database = provider == DatabaseProvider.Sqlite
            ? new SqliteTestDatabase { Migrate = false }
            : new PostgresTestDatabase { Migrate = false };
        await database.InitializeAsync();
        try
        {
            var probe = new ProbeResult();
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddInMemoryCollection(database.Configuration);
            builder.Services.AddSingleton(probe);
            builder.Services.AddHostedService<SchemaProbe>();
            builder.AddStorage();
            using var host = builder.Build();

            await host.StartAsync();
            await host.StopAsync();

            Assert.Equal(host.Services.GetRequiredService<DatabaseMigrator>().Known.Select(m => m.Id).Order(), probe.VersionsAtStart!.Order());
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task IsReadyAsync_ReachableDatabase_ReturnsTrue()
    {
        var database = new SqliteTestDatabase();
        await database.InitializeAsync();
        try
        {
            await using var services = database.CreateServices();

            Assert.True(await services.GetRequiredService<IDatabaseHealth>().IsReadyAsync(CancellationToken.None));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task IsReadyAsync_UnreachableServer_ReturnsFalse()
    {
        await using var services = BuildServices(new()
        {
            [DatabaseOptions.ProviderKey] = "Postgres",
            [DatabaseOptions.ConnectionStringKey] = "Host=127.0.0.1;Port=1;Username=nobody;Database=nothing;Timeout=3",
        });

        Assert.False(await services.GetRequiredService<IDatabaseHealth>().IsReadyAsync(CancellationToken.None));
    }

    private static IHost BuildHost(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddStorage();
        return builder.Build();
    }

    private static ServiceProvider BuildServices(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddStorage();
        return builder.Services.BuildServiceProvider(validateScopes: true);
    }

    /// <summary>A hosted service that, like the scheduler, needs the schema when it starts.</summary>
    private sealed class SchemaProbe(DatabaseMigrator migrator, ProbeResult result) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken) =>
            result.VersionsAtStart = await migrator.GetAppliedAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ProbeResult
    {
        public IReadOnlyList<MigrationId>? VersionsAtStart { get; set; }
    }
}
