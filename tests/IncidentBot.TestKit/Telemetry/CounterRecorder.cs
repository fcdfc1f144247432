using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.TestKit.Telemetry;

/// <summary>
/// Listens to one of IncidentBot's counters for the duration of a test and keeps, for every unit counted, the values of
/// two of its tags. The meter is process-wide: a test that counts must keep other tests' counts out (a collection
/// without parallelization, or a tag value of its own).
/// </summary>
public sealed class CounterRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string? First, string? Second)> _counted = new();

    public CounterRecorder(string instrumentName, string firstTag, string secondTag)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            // By name: the instrument may be created (with the meter's first use) while this listener already listens.
            if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? first = null, second = null;
            foreach (var tag in tags)
            {
                first = tag.Key == firstTag ? tag.Value as string : first;
                second = tag.Key == secondTag ? tag.Value as string : second;
            }

            for (var i = 0; i < value; i++)
            {
                _counted.Enqueue((first, second));
            }
        });
        _listener.Start();
    }

    /// <summary>Every unit counted since this recorder started, as the values of the two tags.</summary>
    public IReadOnlyList<(string? First, string? Second)> Counted => _counted.ToArray();

    public void Dispose() => _listener.Dispose();
}
