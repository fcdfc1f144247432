using IncidentBot.Core.Application;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IncidentBot.Storage;

public static class DependencyInjection
{
    /// <summary>
    /// Registers the incident store and outbox on the configured database (<c>Database:Provider</c>,
    /// <c>ConnectionStrings:IncidentBot</c>; invalid values stop start-up), the readiness probe, the start-up
    /// migration, which runs before every other hosted service, and the pruner of finished work (<c>Retention:*</c>).
    /// </summary>
    public static IServiceCollection AddIncidentStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<DatabaseOptions>()
            .Configure(options =>
            {
                options.Provider = configuration[DatabaseOptions.ProviderKey];
                options.ConnectionString = configuration.GetConnectionString(DatabaseOptions.ConnectionStringName);
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DatabaseOptions>, DatabaseOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TransientRetry>();
        services.TryAddSingleton(CreateConnectionFactory);
        services.TryAddSingleton<IIncidentStore, SqlIncidentStore>();
        services.TryAddSingleton<IOutbox, SqlOutbox>();
        services.TryAddSingleton<IDatabaseHealth, DatabaseHealth>();
        services.TryAddSingleton<DataProtectionKeyStore>();
        services.TryAddSingleton<DatabaseMigrator>();
        AddFirstHostedService<DatabaseMigrationService>(services);
        if (string.Equals(configuration[DatabaseOptions.ProviderKey]?.Trim(), nameof(DatabaseProvider.Postgres), StringComparison.OrdinalIgnoreCase))
        {
            services.TryAddSingleton<OutboxSignal>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OutboxListener>());
        }

        services.AddOptions<RetentionOptions>().Bind(configuration.GetSection(RetentionOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RetentionOptions>, RetentionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RetentionPruner>());

        return services;
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

        var builder = new NpgsqlDataSourceBuilder(connectionString);
        if (services.GetService<ILoggerFactory>() is { } loggerFactory)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return new PostgresConnectionFactory(builder.Build(), retry);
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
}
