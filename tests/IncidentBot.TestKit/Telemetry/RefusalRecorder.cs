using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.TestKit.Telemetry;

/// <summary>
/// Listens to <c>incidentbot.inbound.refused</c> for the duration of a test. The meter is process-wide: run tests
/// that use this in a collection with parallelization disabled, so no other test's refusals land here.
/// </summary>
public sealed class RefusalRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string? Endpoint, string? Reason)> _refusals = new();

    public RefusalRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == "incidentbot.inbound.refused")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? endpoint = null, reason = null;
            foreach (var tag in tags)
            {
                endpoint = tag.Key == "endpoint" ? tag.Value as string : endpoint;
                reason = tag.Key == "reason" ? tag.Value as string : reason;
            }

            for (var i = 0; i < value; i++)
            {
                _refusals.Enqueue((endpoint, reason));
            }
        });
        _listener.Start();
    }

    /// <summary>Every refusal counted since this recorder started, as (endpoint, reason).</summary>
    public IReadOnlyList<(string? Endpoint, string? Reason)> Refusals => _refusals.ToArray();

    public void Dispose() => _listener.Dispose();
}
