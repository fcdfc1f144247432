using IncidentBot.Core.Application;
using IncidentBot.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Quartz;

namespace IncidentBot.Scheduling;

public static class DependencyInjection
{
    /// <summary>
    /// Quartz (<c>Scheduler:*</c>) with its persistent store on the bot's database: clustered on PostgreSQL (each trigger
    /// fires on one instance, a dead instance's work moves to another), single-instance on SQLite. The schema is
    /// provisioned at start-up; jobs are resolved from DI. Also registers update/commander reminders (<c>Reminders:*</c>)
    /// and escalation, which pages through the pagers of <c>AddPaging</c>.
    /// </summary>
    public static IHostApplicationBuilder AddScheduling(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = builder.Configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
        var database = builder.GetDatabaseOptions();
        // An invalid database setting is reported by the storage options' start-up validation; until then the
        // scheduler is given the embedded default so that validation, not this line, names the key.
        var valid = database.TryGetProvider(out var provider)
            && (provider == DatabaseProvider.Sqlite || !string.IsNullOrWhiteSpace(database.ConnectionString));
        var postgres = valid && provider == DatabaseProvider.Postgres;
        var connectionString = valid ? database.GetConnectionString() : DatabaseOptions.DefaultSqliteConnectionString;
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
            // No UseTimeProvider here: it takes an instance, and the app's clock is a registration. A scheduler given none
            // runs on the container's TimeProvider (Quartz 4.7's documented order), so timers and the code that sets them
            // share one clock; the scheduling tests drive both with a fake one.
            quartz.UseDefaultThreadPool(pool => pool.MaxConcurrency = options.MaxConcurrency);
            quartz.UsePersistentStore(store =>
            {
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
                // After the database was away, look again in seconds rather than Quartz's 15 s, so reminders due meanwhile fire soon after it is back.
                store.ConfigureStore(ado => ado.DbRetryInterval = TimeSpan.FromSeconds(2));
                if (postgres)
                {
                    store.UsePostgres(database.Budget.ForScheduler(connectionString));
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = options.ClusterCheckinInterval;
                        cluster.CheckinMisfireThreshold = options.ClusterCheckinInterval;
                    });
                }
                else
                {
                    store.UseSqlite(connectionString);
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
        services.TryAddSingleton<IncidentTimers>();
        services.TryAddSingleton<Escalations>();
        services.AddSingleton<IEscalationStateReader, EscalationStateReader>();
        services.TryAddSingleton<CommanderTimer>();
        services.AddTransient<IncidentTimerJob>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncidentEventHandler, ReminderEventHandler>());
        services.AddHostedService<TimerReconciler>();
        return builder;
    }
}
