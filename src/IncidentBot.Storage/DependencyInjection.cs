using IncidentBot.Core.Application;
using IncidentBot.Core.WarRooms;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IncidentBot.Storage;

public static partial class DependencyInjection
{
    /// <summary>
    /// Registers the incident store and outbox on the configured database (<c>Database:Provider</c>,
    /// <c>ConnectionStrings:IncidentBot</c>; invalid values stop start-up), the readiness probe, the start-up
    /// migration, which runs before every other
    /// hosted service, and the pruner of finished work (<c>Retention:*</c>).
    /// </summary>
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var database = builder.GetDatabaseOptions();
        services.AddOptions<DatabaseOptions>()
            .Configure(options =>
            {
                options.Provider = database.Provider;
                options.ConnectionString = database.ConnectionString;
                options.MaxConnections = database.MaxConnections;
                options.PoolWait = database.PoolWait;
                options.ListenConnectionString = database.ListenConnectionString;
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TransientRetry>();
        services.TryAddSingleton(services => new BackgroundShare(services.GetRequiredService<IOptions<DatabaseOptions>>().Value.Budget.Background));
        services.TryAddSingleton(services => StorePoolGate.For(services.GetRequiredService<IOptions<DatabaseOptions>>().Value, services.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(CreateConnectionFactory);
        services.TryAddSingleton(services => new ConnectionPools(
            services.GetRequiredService<IOptions<DatabaseOptions>>().Value, services.GetRequiredService<BackgroundShare>(), services.GetRequiredService<StorePoolGate>()));
        services.AddOptions<GroupCommitOptions>().BindConfiguration(GroupCommitOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GroupCommitOptions>, GroupCommitOptionsValidator>());
        services.TryAddSingleton<GroupCommitWriter>();
        services.TryAddSingleton<IIncidentStore, SqlIncidentStore>();
        services.TryAddSingleton<IOutbox, SqlOutbox>();
        services.TryAddSingleton<IChatDeliveries, SqlChatDeliveries>();
        services.TryAddSingleton<InboundReceipts>();
        services.TryAddSingleton<IDatabaseHealth, DatabaseHealth>();
        services.TryAddSingleton<DataProtectionKeyStore>();
        services.TryAddSingleton<DatabaseMigrator>();
        builder.AddTables(Tables);
        AddFirstHostedService<DatabaseMigrationService>(services);
        if (database.TryGetProvider(out var provider) && provider == DatabaseProvider.Postgres)
        {
            services.TryAddSingleton<OutboxSignal>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OutboxListener>());
        }

        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RetentionPruner>());

        return builder;
    }

    /// <summary>This project's tables: incidents and their parts, the outbox, the war-room posts made, the inbound requests acted on, data-protection keys.</summary>
    public static TableSet Tables { get; } = new(
        TableSet.StorageName,
        typeof(DependencyInjection).Assembly,
        new RetentionRule("chat_deliveries", RetentionAge.Finished, """
            DELETE FROM chat_deliveries WHERE (platform, room, delivery_key) IN (
                SELECT platform, room, delivery_key FROM chat_deliveries WHERE delivered_at < @Before LIMIT @Batch)
            """));

    /// <summary>
    /// Adds <paramref name="tables"/> to the start-up migration and the retention pruner. Each project that owns tables
    /// calls it from its own <c>Add…</c> method; adding a set twice has no effect.
    /// </summary>
    public static IHostApplicationBuilder AddTables(this IHostApplicationBuilder builder, TableSet tables)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(tables);
        if (!builder.Services.Any(d => d.ServiceType == typeof(TableSet) && (d.ImplementationInstance as TableSet)?.Name == tables.Name))
        {
            builder.Services.AddSingleton(tables);
        }

        return builder;
    }

    /// <summary>
    /// The database settings, read from configuration once per builder, for the projects that need them while they
    /// register (the scheduler's store); everyone else takes <c>IOptions&lt;DatabaseOptions&gt;</c>. Not validated here:
    /// start-up validation names a bad key.
    /// </summary>
    public static DatabaseOptions GetDatabaseOptions(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Properties.TryGetValue(typeof(DatabaseOptions), out var read) && read is DatabaseOptions options)
        {
            return options;
        }

        options = new DatabaseOptions
        {
            Provider = builder.Configuration[DatabaseOptions.ProviderKey],
            ConnectionString = builder.Configuration.GetConnectionString(DatabaseOptions.ConnectionStringName),
            MaxConnections = builder.Configuration.GetValue(DatabaseOptions.MaxConnectionsKey, ConnectionBudget.DefaultMax),
            PoolWait = builder.Configuration.GetValue(DatabaseOptions.PoolWaitKey, new DatabaseOptions().PoolWait),
            ListenConnectionString = builder.Configuration[DatabaseOptions.ListenConnectionStringKey],
        };
        builder.Properties[typeof(DatabaseOptions)] = options;
        return options;
    }

    private static IDbConnectionFactory CreateConnectionFactory(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        var connectionString = options.GetConnectionString();
        var retry = services.GetRequiredService<TransientRetry>();
        if (options.GetProvider() == DatabaseProvider.Sqlite)
        {
            return new SqliteConnectionFactory(connectionString, retry);
        }

        var budget = options.Budget;
        var builder = new NpgsqlDataSourceBuilder(budget.ForStore(connectionString)) { Name = ConnectionPools.StorePoolName };
        if (services.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            builder.UseLoggerFactory(loggerFactory);
            var logger = loggerFactory.CreateLogger("IncidentBot.Storage");
            LogBudget(logger, budget);
        }

        return new PostgresConnectionFactory(builder.Build(), retry, services.GetRequiredService<BackgroundShare>(), services.GetRequiredService<StorePoolGate>());
    }

    private static void AddFirstHostedService<T>(IServiceCollection services)
        where T : class, IHostedService
    {
        if (services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(T)))
        {
            return;
        }

        var descriptor = ServiceDescriptor.Singleton<IHostedService, T>();
        var firstHosted = services.Select((d, i) => (d, i)).FirstOrDefault(x => x.d.ServiceType == typeof(IHostedService));
        if (firstHosted.d is null)
        {
            services.Add(descriptor);
        }
        else
        {
            services.Insert(firstHosted.i, descriptor);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PostgreSQL connection budget of this instance: {Budget}")]
    private static partial void LogBudget(ILogger logger, ConnectionBudget budget);
}
