using System.Diagnostics.Metrics;
using IncidentBot.Core.Telemetry;
using Npgsql;

namespace IncidentBot.Storage;

/// <summary>
/// How one of this instance's connection pools is used right now and since start, for <c>/readyz</c>:
/// <paramref name="Busy"/> and <paramref name="Idle"/> connections of <paramref name="Max"/>, requests
/// <paramref name="Waiting"/> for one now, and since start how many had to wait (<paramref name="Waits"/>) and how many
/// gave up waiting (<paramref name="Timeouts"/>: the request was answered 503). Idle and timeouts are null where they
/// do not apply (the background share is a limit within the store's pool, not a pool).
/// </summary>
public sealed record PoolUse(int Max, int Busy, int? Idle, int Waiting, long Waits, long? Timeouts);

/// <summary>
/// Reads the pools of this instance from Npgsql's own metrics (the <c>Npgsql</c> meter, also exported through
/// OpenTelemetry): the store's (<c>store</c>), the scheduler's (<c>scheduler</c>), and the background share of the
/// store's (<c>background</c>), adding the waits at the store's <see cref="StorePoolGate"/>. Counts every wait and timeout
/// in <see cref="IncidentBotTelemetry.ConnectionWaits"/>.
/// Empty on SQLite, which has no pool.
/// </summary>
public sealed class ConnectionPools : IDisposable
{
    public const string Store = "store";
    public const string Scheduler = "scheduler";
    public const string Background = "background";

    /// <summary>The diagnostics name of the store's data source: its pool's name in Npgsql's metrics.</summary>
    public const string StorePoolName = "incidentbot-store";

    private const string UsageInstrument = "db.client.connection.count";
    private const string MaxInstrument = "db.client.connection.max";
    private const string PendingInstrument = "db.client.connection.npgsql.pending_requests";
    private const string TimeoutsInstrument = "db.client.connection.npgsql.timeouts";

    private readonly MeterListener? _listener;
    private readonly NpgsqlConnectionStringBuilder? _scheduler;
    private readonly Dictionary<string, string?> _roles = new(StringComparer.Ordinal);
    private readonly BackgroundShare? _background;
    private readonly StorePoolGate? _gate;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Counts> _counts = new(StringComparer.Ordinal);

    public ConnectionPools(DatabaseOptions options, BackgroundShare? background, StorePoolGate? gate = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.TryGetProvider(out var provider) || provider != DatabaseProvider.Postgres)
        {
            return;
        }

        _background = background;
        _gate = gate;
        _scheduler = new NpgsqlConnectionStringBuilder(options.Budget.ForScheduler(options.GetConnectionString()));
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Npgsql" && instrument.Name is UsageInstrument or MaxInstrument or PendingInstrument or TimeoutsInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _listener.Start();
    }

    /// <summary>The pools by name (<see cref="Store"/>, <see cref="Scheduler"/>, <see cref="Background"/>) as they are now.</summary>
    public IReadOnlyDictionary<string, PoolUse> Snapshot()
    {
        var pools = new Dictionary<string, PoolUse>(StringComparer.Ordinal);
        if (_listener is null)
        {
            return pools;
        }

        lock (_lock)
        {
            foreach (var counts in _counts.Values)
            {
                counts.Busy = counts.Idle = counts.Max = 0;
            }
        }

        // Calls back (Record) with the current value of each observable instrument: connections by state, the maximum.
        _listener.RecordObservableInstruments();
        lock (_lock)
        {
            foreach (var (name, c) in _counts)
            {
                pools[name] = new PoolUse(c.Max, c.Busy, c.Idle, c.Waiting, c.Waits, c.Timeouts);
            }
        }

        // Requests and background work wait for a store connection at the gate before Npgsql's pool (so Npgsql's own
        // pending and timed-out requests stay near zero): its waits are the store's.
        if (_gate is { } gate)
        {
            var store = pools.GetValueOrDefault(Store) ?? new PoolUse(gate.Size, 0, 0, 0, 0, 0);
            pools[Store] = store with
            {
                Waiting = store.Waiting + gate.Waiting,
                Waits = store.Waits + gate.Waits,
                Timeouts = (store.Timeouts ?? 0) + gate.Timeouts,
            };
        }

        if (_background is { } share)
        {
            pools[Background] = new PoolUse(share.Max, share.Busy, null, 0, share.Waits, null);
        }

        return pools;
    }

    public void Dispose() => _listener?.Dispose();

    private void Record(string instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? poolName = null;
        string? state = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "db.client.connection.pool.name")
            {
                poolName = tag.Value as string;
            }
            else if (tag.Key == "db.client.connection.state")
            {
                state = tag.Value as string;
            }
        }

        var waited = false;
        var timedOut = false;
        string? pool;
        lock (_lock)
        {
            pool = Role(poolName);
            if (pool is null)
            {
                return;
            }

            if (!_counts.TryGetValue(pool, out var counts))
            {
                _counts[pool] = counts = new Counts();
            }

            switch (instrument)
            {
                case UsageInstrument when state == "used":
                    counts.Busy = (int)value;
                    break;
                case UsageInstrument when state == "idle":
                    counts.Idle = (int)value;
                    break;
                case MaxInstrument:
                    counts.Max = (int)value;
                    break;
                case PendingInstrument:
                    counts.Waiting += (int)value;
                    waited = value > 0;
                    counts.Waits += waited ? 1 : 0;
                    break;
                case TimeoutsInstrument:
                    counts.Timeouts += value;
                    timedOut = value > 0;
                    break;
            }
        }

        if (waited || timedOut)
        {
            IncidentBotTelemetry.ConnectionWaits.Add(
                1, new KeyValuePair<string, object?>("pool", pool), new KeyValuePair<string, object?>("outcome", timedOut ? "timed_out" : "waited"));
        }
    }

    /// <summary>
    /// Which of ours a pool is: the store's data source is named; Quartz opens plain connections, whose pool Npgsql names
    /// after the connection string (without its password), so the scheduler's is known by where it connects and its
    /// application name and size. Other pools of the process (tests, tools) are left out.
    /// </summary>
    private string? Role(string? poolName)
    {
        if (poolName is null)
        {
            return null;
        }

        if (poolName == StorePoolName)
        {
            return Store;
        }

        if (!_roles.TryGetValue(poolName, out var role))
        {
            role = null;
            try
            {
                var pool = new NpgsqlConnectionStringBuilder(poolName);
                if (_scheduler is { } scheduler && pool.Host == scheduler.Host && pool.Port == scheduler.Port && pool.Database == scheduler.Database
                    && pool.ApplicationName == scheduler.ApplicationName && pool.MaxPoolSize == scheduler.MaxPoolSize)
                {
                    role = Scheduler;
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
            {
                // A name that is not a connection string: a data source someone else named.
            }

            _roles[poolName] = role;
        }

        return role;
    }

    private sealed class Counts
    {
        public int Busy { get; set; }

        public int Idle { get; set; }

        public int Max { get; set; }

        public int Waiting { get; set; }

        public long Waits { get; set; }

        public long Timeouts { get; set; }
    }
}
