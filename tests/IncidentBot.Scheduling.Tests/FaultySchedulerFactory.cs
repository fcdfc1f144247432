using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// The scheduler as the bot sees it, with its database refusing the next writes of chosen timers: a narrow seam for
/// "setting the next timer failed on a database error". Everything else goes to the real Quartz scheduler.
/// </summary>
public sealed class SchedulerFaults
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);

    public int Failed { get; private set; }

    /// <summary>The next <paramref name="count"/> schedulings of a timer whose job name starts with <paramref name="prefix"/> fail.</summary>
    public void FailNext(string prefix, int count)
    {
        lock (_gate)
        {
            _failures[prefix] = count;
        }
    }

    internal bool ShouldFail(string jobName)
    {
        lock (_gate)
        {
            foreach (var (prefix, left) in _failures)
            {
                if (left > 0 && jobName.StartsWith(prefix, StringComparison.Ordinal))
                {
                    _failures[prefix] = left - 1;
                    Failed++;
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Wraps the registered <see cref="ISchedulerFactory"/> so its schedulers consult these faults.</summary>
    public void Install(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(ISchedulerFactory));
        services.Remove(original);
        services.AddSingleton<ISchedulerFactory>(sp => new Factory(Create(sp, original), this));
    }

    private static ISchedulerFactory Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        (ISchedulerFactory)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(services)
            ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!));

    private sealed class Factory(ISchedulerFactory inner, SchedulerFaults faults) : ISchedulerFactory
    {
        public async ValueTask<List<IScheduler>> GetAllSchedulers(CancellationToken cancellationToken = default) =>
            (await inner.GetAllSchedulers(cancellationToken)).Select(Wrap).ToList();

        public async ValueTask<IScheduler> GetScheduler(CancellationToken cancellationToken = default) => Wrap(await inner.GetScheduler(cancellationToken));

        public async ValueTask<IScheduler?> LookupScheduler(string schedName, CancellationToken cancellationToken = default) =>
            await inner.LookupScheduler(schedName, cancellationToken) is { } scheduler ? Wrap(scheduler) : null;

        private IScheduler Wrap(IScheduler scheduler)
        {
            var proxy = DispatchProxy.Create<IScheduler, FailingScheduler>();
            ((FailingScheduler)(object)proxy).Set(scheduler, faults);
            return proxy;
        }
    }

    /// <summary>Forwards every call; a ScheduleJob of a chosen timer throws as Quartz does when its database fails.</summary>
    public class FailingScheduler : DispatchProxy
    {
        private IScheduler _inner = null!;
        private SchedulerFaults _faults = null!;

        internal void Set(IScheduler inner, SchedulerFaults faults)
        {
            _inner = inner;
            _faults = faults;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(IScheduler.ScheduleJob) && args![0] is IJobDetail job && _faults.ShouldFail(job.Key.Name))
            {
                throw new JobPersistenceException($"Couldn't store trigger for {job.Key}: the database connection was lost");
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }
}
