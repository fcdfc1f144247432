namespace IncidentBot.Core.Application;

/// <summary>
/// Marks the work of the current async flow (and everything it starts) as background work: outbox deliveries, timers,
/// sweeps. The store gives background work only its share of the connections, so a chat request that must be stored
/// before it is acknowledged always finds one.
/// </summary>
public static class BackgroundWork
{
    private static readonly AsyncLocal<bool> Marked = new();

    /// <summary>True when the calling flow was marked with <see cref="Enter"/>.</summary>
    public static bool IsActive => Marked.Value;

    /// <summary>
    /// Marks the calling flow from here on. Called at the top of an <c>async</c> method, the mark ends with that method:
    /// its caller's flow is left as it was.
    /// </summary>
    public static void Enter() => Marked.Value = true;
}
