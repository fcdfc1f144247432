using Microsoft.Extensions.Configuration;
using IncidentBot.Core.Application;
using IncidentBot.Paging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Quartz;

namespace IncidentBot.Scheduling;

/// <summary>Which database the scheduler shares with the incident store.</summary>
public sealed record SchedulerDatabase(bool IsPostgres, string ConnectionString);

public static class DependencyInjection
{
    /// <summary>
    /// Quartz with its persistent store on the bot's database: clustered on PostgreSQL (each trigger fires on
    /// one instance, a dead instance's work moves to another), single-instance on SQLite. The schema is
    /// provisioned at start-up; jobs are resolved from DI. Also registers update/commander reminders and escalation
    /// (with the pagers from <see cref="Paging.DependencyInjection.AddPaging(IServiceCollection)"/>).
    /// </summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration, SchedulerDatabase database)
    {
        var options = configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
        services.AddOptions<SchedulerOptions>().BindConfiguration(SchedulerOptions.Section)
            .Validate(o => o.ReconcileInterval >= TimeSpan.FromSeconds(1), "Scheduler:ReconcileInterval must be at least 00:00:01, such as 00:05:00")
            .ValidateOnStart();

        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = options.Name;
                scheduler.InstanceId = options.ResolveInstanceId();
                // Triggers another instance scheduled are seen within this; local ones wake the scheduler at once.
                scheduler.IdleWaitTime = options.IdleWaitTime;
                // Many reminders can come due together; acquiring them in batches keeps up where one at a time would
                // fall behind. A trigger in a batch may fire up to the window early.
                scheduler.MaxBatchSize = options.MaxConcurrency;
                scheduler.BatchTriggerAcquisitionFireAheadTimeWindow = options.BatchWindow;
            });
            quartz.UseDefaultThreadPool(pool => pool.MaxConcurrency = options.MaxConcurrency);
            quartz.UsePersistentStore(store =>
            {
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
                // After the database was away, look again in seconds rather than Quartz's 15 s, so reminders due meanwhile fire soon after it is back.
                store.ConfigureStore(ado => ado.DbRetryInterval = TimeSpan.FromSeconds(2));
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

        // Update reminders, commander reminders and escalation: timers per incident, kept in step by outbox events.
        services.AddOptions<ReminderOptions>().BindConfiguration(ReminderOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReminderOptions>, ReminderOptionsValidator>());
        services.AddPaging();
        services.TryAddSingleton<IncidentTimers>();
        services.TryAddSingleton<Escalations>();
        services.AddSingleton<IEscalationStateReader, EscalationStateReader>();
        services.TryAddSingleton<CommanderTimer>();
        services.AddTransient<IncidentTimerJob>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncidentEventHandler, ReminderEventHandler>());
        services.AddHostedService<TimerReconciler>();
        return services;
    }
}
