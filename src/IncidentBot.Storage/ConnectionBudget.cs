using Npgsql;

namespace IncidentBot.Storage;

/// <summary>
/// The one place where an instance's PostgreSQL connections (<c>Database:MaxConnections</c>) are shared out: a pool for
/// the store and outbox (inbound requests and deliveries), a smaller one for the scheduler's own bookkeeping (trigger
/// acquisition, cluster check-in; its jobs use the store's), and the outbox listener's single connection. Each pool is
/// its own Npgsql pool with its own <c>Maximum Pool Size</c>, so one side can never take the other's connections; a
/// request that finds the store's pool busy waits for a connection at most <c>Database:PoolWait</c> (see
/// <see cref="StorePoolGate"/>) and is then answered 503 (the chat platform retries) instead of the server refusing new
/// clients for everyone. Background work (outbox deliveries,
/// timers, sweeps; see <c>BackgroundWork</c>) holds at most <see cref="Background"/> of the store's connections, so the
/// rest is always there for inbound requests.
/// <para>
/// The scheduler's pool is smaller than Quartz's job threads (<c>Scheduler:MaxConcurrency</c>, 16) on purpose. A job's
/// own work runs on the store's connections (as background work); a job thread takes a scheduler connection only for
/// Quartz's bookkeeping (recording that the job completed, setting a trigger), which Quartz writes under its
/// cluster-wide <c>TRIGGER_ACCESS</c> row lock, one at a time across every instance. More scheduler connections would
/// only wait on that lock while held open, counted against the server's <c>max_connections</c>; a thread waiting for one
/// here holds nothing. Fewer threads would slow the jobs' own work, which does run in parallel.
/// </para>
/// </summary>
public sealed record ConnectionBudget(int Max, int Store, int Scheduler, int Listener)
{
    public const int DefaultMax = 20;
    public const int LeastMax = 6;
    public const int MostMax = 1000;

    public const string StoreApplicationName = "incidentbot";
    public const string SchedulerApplicationName = "incidentbot-scheduler";

    /// <summary>The store connections background work may hold at once: all but a quarter (at least one) kept for requests.</summary>
    public int Background => Store - Math.Max(1, Store / 4);

    public static ConnectionBudget Split(int max)
    {
        var scheduler = Math.Clamp(max / 4, 2, 10);
        const int listener = 1;
        return new ConnectionBudget(max, max - scheduler - listener, scheduler, listener);
    }

    /// <summary><paramref name="connectionString"/> bounded to the store's share.</summary>
    public string ForStore(string connectionString) => Bounded(connectionString, Store, StoreApplicationName);

    /// <summary><paramref name="connectionString"/> bounded to the scheduler's share (a pool of its own).</summary>
    public string ForScheduler(string connectionString) => Bounded(connectionString, Scheduler, SchedulerApplicationName);

    public override string ToString() => $"{Max} (store and outbox {Store}, of which background work {Background} at most; scheduler {Scheduler}; outbox listener {Listener})";

    private static string Bounded(string connectionString, int size, string applicationName)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = size };
        if (builder.MinPoolSize > size)
        {
            builder.MinPoolSize = size;
        }

        builder.ApplicationName ??= applicationName;
        // No session state is ever left on a pooled connection (no SET, temp tables or session locks; the listener has
        // a connection of its own), so the DISCARD ALL Npgsql sends on each reuse is a wasted statement: a third of an
        // idle instance's statements, and one more per request.
        builder.NoResetOnClose = true;
        // Planning is most of what PostgreSQL spends on a request's few small statements, and the bot runs the same
        // statements over and over: Npgsql keeps them prepared on each connection. A connection string that sets it
        // (PgBouncer in transaction mode before 1.21 needs Max Auto Prepare=0) is left as it is.
        if (!Sets(connectionString, "maxautoprepare"))
        {
            builder.MaxAutoPrepare = AutoPrepared;
        }

        return builder.ConnectionString;
    }

    /// <summary>How many statements Npgsql keeps prepared per connection unless the connection string says otherwise.</summary>
    public const int AutoPrepared = 64;

    private static bool Sets(string connectionString, string keyword) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>()
            .Any(key => string.Equals(key.Replace(" ", "", StringComparison.Ordinal), keyword, StringComparison.OrdinalIgnoreCase));
}
