using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IncidentBot.Core.Telemetry;

namespace IncidentBot.TestKit.Telemetry;

/// <summary>Listens to <c>incidentbot.commands.refused</c> for the duration of a test (the meter is process-wide).</summary>
public sealed class CommandRefusalRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string? Command, string? Reason)> _refusals = new();

    public CommandRefusalRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument == IncidentBotTelemetry.CommandsRefused)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? command = null, reason = null;
            foreach (var tag in tags)
            {
                command = tag.Key == "command" ? tag.Value as string : command;
                reason = tag.Key == "reason" ? tag.Value as string : reason;
            }

            for (var i = 0; i < value; i++)
            {
                _refusals.Enqueue((command, reason));
            }
        });
        _listener.Start();
    }

    /// <summary>Every refusal counted since this recorder started, as (command, reason).</summary>
    public IReadOnlyList<(string? Command, string? Reason)> Refusals => _refusals.ToArray();

    public void Dispose() => _listener.Dispose();
}
