using IncidentBot.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace IncidentBot.TestKit.Databases;

/// <summary>
/// A throwaway database for one test class or test: created (and migrated, unless <see cref="Migrate"/> is
/// false) by <see cref="InitializeAsync"/>, deleted by <see cref="DisposeAsync"/>. Use it as an xunit
/// fixture, or create and initialize one in a test's own <c>InitializeAsync</c>.
/// </summary>
public abstract class TestDatabase : IAsyncLifetime
{
    private string? _connectionString;

    public abstract DatabaseProvider Provider { get; }

    /// <summary>Run the migrations in <see cref="InitializeAsync"/> (the default); false leaves an empty database.</summary>
    public bool Migrate { get; init; } = true;

    public string ConnectionString =>
        _connectionString ?? throw new InvalidOperationException($"{GetType().Name} is not initialized; call InitializeAsync first.");

    /// <summary>The configuration that points <see cref="DependencyInjection.AddStorage"/> at this database.</summary>
    public IReadOnlyDictionary<string, string?> Configuration => new Dictionary<string, string?>
    {
        [DatabaseOptions.ProviderKey] = Provider.ToString(),
        [DatabaseOptions.ConnectionStringKey] = ConnectionString,
    };

    /// <summary>The table sets the app registers besides Storage's own, so a test database has the app's whole schema.</summary>
    public static IReadOnlyList<TableSet> AdapterTables { get; } =
        [IncidentBot.Paging.PagingTables.Set, IncidentBot.Slack.State.SlackTables.Set, IncidentBot.Teams.Storage.TeamsTables.Set];

    public IConfiguration BuildConfiguration() => new ConfigurationBuilder().AddInMemoryCollection(Configuration).Build();

    /// <summary>
    /// A service provider with the storage registered against this database, composed as the app composes it (on a host
    /// builder whose configuration is this database's plus <paramref name="settings"/>). <paramref name="configure"/>
    /// runs first, so what it registers (a fake <see cref="TimeProvider"/>, say) wins over the defaults.
    /// </summary>
    public ServiceProvider CreateServices(Action<IHostApplicationBuilder>? configure = null, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(Configuration);
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        configure?.Invoke(builder);
        builder.AddStorage();
        foreach (var tables in AdapterTables)
        {
            builder.AddTables(tables);
        }

        return builder.Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public async Task InitializeAsync()
    {
        _connectionString = await CreateAsync();
        if (Migrate)
        {
            await using var services = CreateServices();
            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        }
    }

    public async Task DisposeAsync()
    {
        if (_connectionString is not null)
        {
            await DropAsync(_connectionString);
            _connectionString = null;
        }
    }

    /// <summary>Creates the empty database and returns its connection string.</summary>
    protected abstract Task<string> CreateAsync();

    protected abstract Task DropAsync(string connectionString);
}
