using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace IncidentBot.Scheduling;

/// <summary>Which database the scheduler shares with the incident store.</summary>
public sealed record SchedulerDatabase(bool IsPostgres, string ConnectionString);

public static class DependencyInjection
{
    /// <summary>
    /// Quartz with its persistent store on the bot's database: clustered on PostgreSQL (each trigger fires on
    /// one instance, a dead instance's work moves to another), single-instance on SQLite. The schema is
    /// provisioned at start-up; jobs are resolved from DI.
    /// </summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration, SchedulerDatabase database)
    {
        var options = configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
        services.AddOptions<SchedulerOptions>().BindConfiguration(SchedulerOptions.Section);

        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = options.Name;
                scheduler.InstanceId = options.InstanceId;
            });
            quartz.UseDefaultThreadPool(pool => pool.MaxConcurrency = options.MaxConcurrency);
            quartz.UsePersistentStore(store =>
            {
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
                if (database.IsPostgres)
                {
                    store.UsePostgres(database.ConnectionString);
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = options.ClusterCheckinInterval;
                        cluster.CheckinMisfireThreshold = options.ClusterCheckinInterval;
                    });
                }
                else
                {
                    store.UseSqlite(database.ConnectionString);
                }
            });
        });
        services.AddQuartzHostedService(hosted =>
        {
            hosted.WaitForJobsToComplete = true;
            hosted.AwaitApplicationStarted = true;
        });
        services.AddSingleton<SchedulerHealth>();
        return services;
    }
}
