namespace IncidentBot.Scheduling;

/// <summary>Quartz settings under <c>Scheduler:*</c>; the database comes from <c>Database:*</c>.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Identical on every instance sharing a database; instances cluster under this name.</summary>
    public string Name { get; set; } = "IncidentBot";

    /// <summary>Unique per instance; <c>AUTO</c> derives one from host name and time.</summary>
    public string InstanceId { get; set; } = "AUTO";

    /// <summary>How often a clustered instance checks in; a silent instance's jobs move to others after about twice this.</summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(5);

    public int MaxConcurrency { get; set; } = 8;
}
