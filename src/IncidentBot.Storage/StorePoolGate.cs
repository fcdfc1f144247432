using System.Data;
using System.Data.Common;
using IncidentBot.Core.Application;
using IncidentBot.Core.Telemetry;
using Npgsql;

namespace IncidentBot.Storage;

/// <summary>
/// The store pool's connections (<see cref="ConnectionBudget.Store"/>) as slots, taken before Npgsql's pool is asked, so
/// that waiting for a busy pool has a bound of its own. Npgsql has one <c>Timeout</c> for both waiting on its pool and
/// opening a new connection (TCP, TLS, authentication), and a managed PostgreSQL far away may need longer to open one
/// than a chat platform waits for an answer. Here an inbound request waits at most <c>Database:PoolWait</c> for a slot
/// and is then refused (<see cref="StorePoolExhaustedException"/>, answered 503 so the platform retries); with a slot,
/// the open itself keeps the connection string's <c>Timeout</c>. Background work waits for a slot as long as that
/// <c>Timeout</c>, as it used to in Npgsql's pool: it tries again later anyway.
/// </summary>
public sealed class StorePoolGate(int size, TimeSpan requestWait, TimeSpan backgroundWait, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(size, size);
    private int _waiting;
    private long _waits;
    private long _timeouts;

    public int Size { get; } = size;

    /// <summary>Opens waiting for a slot right now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Opens that had to wait for a slot, since start.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Opens that got no slot within their wait, since start.</summary>
    public long Timeouts => Interlocked.Read(ref _timeouts);

    /// <summary>The gate of the configured store pool; its background wait is the connection string's <c>Timeout</c> (0: no limit).</summary>
    public static StorePoolGate For(DatabaseOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connectTimeout = options.GetProvider() == DatabaseProvider.Postgres
            ? new NpgsqlConnectionStringBuilder(options.GetConnectionString()).Timeout
            : 0;
        return new StorePoolGate(
            options.Budget.Store, options.PoolWait, connectTimeout > 0 ? TimeSpan.FromSeconds(connectTimeout) : Timeout.InfiniteTimeSpan, time);
    }

    /// <summary>Opens a connection with <paramref name="open"/> once a slot is free; the slot is given back when the connection closes.</summary>
    internal async ValueTask<DbConnection> OpenAsync(Func<CancellationToken, ValueTask<DbConnection>> open, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            await WaitAsync(BackgroundWork.IsActive ? backgroundWait : requestWait, cancellationToken);
        }

        return await _slots.OpenHoldingSlotAsync(open, cancellationToken);
    }

    public void Dispose() => _slots.Dispose();

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waits);
        Interlocked.Increment(ref _waiting);
        Count("waited");
        using var timeout = new CancellationTokenSource(wait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _slots.WaitAsync(either.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _timeouts);
            Count("timed_out");
            throw new StorePoolExhaustedException(Size, wait);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private static void Count(string outcome) => IncidentBotTelemetry.ConnectionWaits.Add(
        1, new KeyValuePair<string, object?>("pool", ConnectionPools.Store), new KeyValuePair<string, object?>("outcome", outcome));
}

/// <summary>
/// Every connection of the store's pool stayed busy for as long as the work could wait: the database is busy, not
/// down. Nothing was done; a request is answered 503 with Retry-After, background work tries again later.
/// </summary>
public sealed class StorePoolExhaustedException(int size, TimeSpan waited)
    : DbException(
        $"All {size} connections of the store's pool stayed busy for {waited.TotalSeconds:0.###} s (a request waits {DatabaseOptions.PoolWaitKey}); nothing was done",
        new TimeoutException());

internal static class SlotRelease
{
    /// <summary>
    /// Opens a connection with <paramref name="open"/> holding a slot of <paramref name="slots"/> already taken; the slot
    /// is given back when the connection closes, or at once when it fails to open.
    /// </summary>
    public static async ValueTask<DbConnection> OpenHoldingSlotAsync(
        this SemaphoreSlim slots, Func<CancellationToken, ValueTask<DbConnection>> open, CancellationToken cancellationToken)
    {
        DbConnection connection;
        try
        {
            connection = await open(cancellationToken);
        }
        catch
        {
            slots.Release();
            throw;
        }

        connection.ReleaseOnClose(slots);
        return connection;
    }

    /// <summary>Gives <paramref name="slots"/> one slot back when <paramref name="connection"/> closes (once, however often it closes).</summary>
    private static void ReleaseOnClose(this DbConnection connection, SemaphoreSlim slots)
    {
        var released = 0;
        connection.StateChange += (_, change) =>
        {
            if (change.CurrentState == ConnectionState.Closed && Interlocked.Exchange(ref released, 1) == 0)
            {
                slots.Release();
            }
        };
    }
}
