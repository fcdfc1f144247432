using Quartz;

namespace IncidentBot.Scheduling;

/// <summary>Readiness of the scheduler: started, not shut down, not in stand-by.</summary>
public sealed class SchedulerHealth(ISchedulerFactory schedulers)
{
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        return scheduler.Status == SchedulerStatus.Running;
    }
}
