namespace IncidentBot.Scheduling;

/// <summary>Quartz settings under <c>Scheduler:*</c>; the database comes from <c>Database:*</c>.</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Identical on every instance sharing a database; instances cluster under this name.</summary>
    public string Name { get; set; } = "IncidentBot";

    /// <summary>Unique per instance; <c>AUTO</c> makes one from the host name, process id and a random part.</summary>
    public string InstanceId { get; set; } = "AUTO";

    /// <summary>
    /// The id this process checks in under. Set through Microsoft DI, Quartz takes <c>AUTO</c> literally, so every
    /// instance would share one id and none would notice another die: the unique id is made here instead.
    /// </summary>
    public string ResolveInstanceId() =>
        string.Equals(InstanceId, "AUTO", StringComparison.OrdinalIgnoreCase)
            ? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}"
            : InstanceId;

    /// <summary>
    /// How often a clustered instance checks in; a silent instance's jobs move to others after about twice this. Each
    /// check-in is three transactions, nine statements, so this is most of an idle instance's database traffic (decision 12).
    /// </summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Jobs run at once per instance; also the most triggers acquired in one batch.</summary>
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>Triggers due within this of the first one are acquired and fired together (at most this early).</summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How often an idle instance looks for due triggers it did not schedule itself (at least 1 s). A trigger set on
    /// this instance wakes its scheduler at once, so this only bounds how late another instance's trigger is noticed
    /// when its own scheduler cannot fire it (Quartz's default, 30 s).
    /// </summary>
    public TimeSpan IdleWaitTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often every open incident's reminder, commander-reminder and escalation timers are set again from its state
    /// where one is missing (also once at start).
    /// </summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(5);
}
