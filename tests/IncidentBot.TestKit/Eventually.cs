namespace IncidentBot.TestKit;

/// <summary>Waits for a condition, polling; fails the test with <c>what</c> when it does not hold in time.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static Task HoldsAsync(Func<bool> condition, string what = "the condition", TimeSpan? timeout = null) =>
        HoldsAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task HoldsAsync(Func<Task<bool>> condition, string what = "the condition", TimeSpan? timeout = null, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not hold within {timeout ?? DefaultTimeout}");
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(20));
        }
    }
}

/// <summary>Fake clocks for tests that move time themselves.</summary>
public static class TestClock
{
    /// <summary>A clock at the current whole second (so times survive a database's sub-second rounding), moving only when advanced.</summary>
    public static Microsoft.Extensions.Time.Testing.FakeTimeProvider StartingNow()
    {
        var now = DateTimeOffset.UtcNow;
        return new(now.AddTicks(-(now.Ticks % TimeSpan.TicksPerSecond)));
    }
}
