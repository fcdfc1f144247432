using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace IncidentBot.Storage.Tests;

/// <summary><c>/readyz</c>'s database probe: a database that answers reads but takes no writes is not ready.</summary>
public sealed class DatabaseHealthTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task IsReadyAsync_SqliteFileWritable_Ready()
    {
        await using var services = Services(_database.ConnectionString);

        Assert.True(await services.GetRequiredService<IDatabaseHealth>().IsReadyAsync(default));
    }

    [Fact]
    public async Task IsReadyAsync_SqliteFileOnlyReadable_NotReady()
    {
        await using var services = Services(_database.ConnectionString + ";Mode=ReadOnly");

        Assert.False(await services.GetRequiredService<IDatabaseHealth>().IsReadyAsync(default));
    }

    private static ServiceProvider Services(string connectionString)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [DatabaseOptions.ProviderKey] = "Sqlite",
            [DatabaseOptions.ConnectionStringKey] = connectionString,
        });
        builder.Services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        builder.AddStorage();
        return builder.Services.BuildServiceProvider();
    }
}
