using System.Threading.RateLimiting;

namespace IncidentBot.Core.Security;

/// <summary>
/// Counts authentication failures per client address and turns a client away once it has failed too often, so
/// guessing signatures, tokens or sign-in passwords costs an attacker time while legitimate traffic (which never
/// fails) is never throttled. Built on System.Threading.RateLimiting, the library behind ASP.NET Core's rate limiter.
/// </summary>
public sealed class FailureLimiter : IDisposable
{
    /// <summary>Failures allowed per client and window before it is refused.</summary>
    public const int FailuresPerWindow = 20;

    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<string> _limiter;

    public FailureLimiter()
    {
        // Windows replenish on the wall clock (the limiter's own timer): a penalty is real time, whatever the app's clock says.
        _limiter = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = FailuresPerWindow,
            Window = Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>True when <paramref name="client"/> has used up its failures for now: refuse it before reading anything.</summary>
    public bool IsBlocked(string client)
    {
        // Asking for no permit reports whether any are left without taking one.
        using var probe = _limiter.AttemptAcquire(client, 0);
        return !probe.IsAcquired;
    }

    /// <summary>Records one failed attempt of <paramref name="client"/>.</summary>
    public void RecordFailure(string client)
    {
        using var lease = _limiter.AttemptAcquire(client, 1);
    }

    /// <summary>How long a refused client is told to wait (<c>Retry-After</c>).</summary>
    public static int RetryAfterSeconds => (int)Window.TotalSeconds;

    public void Dispose() => _limiter.Dispose();
}
