namespace IncidentBot.TestKit.Telemetry;

/// <summary>
/// Listens to <c>incidentbot.inbound.refused</c> for the duration of a test. The meter is process-wide: run tests
/// that use this in a collection with parallelization disabled, so no other test's refusals land here.
/// </summary>
public sealed class RefusalRecorder : IDisposable
{
    private readonly CounterRecorder _counter = new("incidentbot.inbound.refused", "endpoint", "reason");

    /// <summary>Every refusal counted since this recorder started, as (endpoint, reason).</summary>
    public IReadOnlyList<(string? Endpoint, string? Reason)> Refusals => _counter.Counted;

    public void Dispose() => _counter.Dispose();
}
