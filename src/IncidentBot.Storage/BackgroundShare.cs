using System.Data.Common;
using IncidentBot.Core.Application;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.Storage;

/// <summary>
/// The store connections background work (<see cref="BackgroundWork"/>) may hold at once
/// (<see cref="ConnectionBudget.Background"/>): a background open beyond that waits here, before the pool, so the
/// pool's last connections are left to inbound requests.
/// </summary>
public sealed class BackgroundShare(int max) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(max, max);
    private long _waits;

    public int Max { get; } = max;

    /// <summary>Background connections open right now.</summary>
    public int Busy => Max - _slots.CurrentCount;

    /// <summary>Background opens that had to wait for a slot, since start.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Opens a connection with <paramref name="open"/>; for background work, only once a slot is free, given back when the connection closes.</summary>
    internal async ValueTask<DbConnection> OpenAsync(Func<CancellationToken, ValueTask<DbConnection>> open, CancellationToken cancellationToken)
    {
        if (!BackgroundWork.IsActive)
        {
            return await open(cancellationToken);
        }

        if (!_slots.Wait(0, CancellationToken.None))
        {
            Interlocked.Increment(ref _waits);
            IncidentBotTelemetry.ConnectionWaits.Add(1, new KeyValuePair<string, object?>("pool", "background"), new KeyValuePair<string, object?>("outcome", "waited"));
            await _slots.WaitAsync(cancellationToken);
        }

        return await _slots.OpenHoldingSlotAsync(open, cancellationToken);
    }

    public void Dispose() => _slots.Dispose();
}
