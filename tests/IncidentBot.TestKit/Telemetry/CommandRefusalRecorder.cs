using IncidentBot.Core.Telemetry;

namespace IncidentBot.TestKit.Telemetry;

/// <summary>Listens to <c>incidentbot.commands.refused</c> for the duration of a test (the meter is process-wide).</summary>
public sealed class CommandRefusalRecorder : IDisposable
{
    private readonly CounterRecorder _counter = new(IncidentBotTelemetry.CommandsRefused.Name, "command", "reason");

    /// <summary>Every refusal counted since this recorder started, as (command, reason).</summary>
    public IReadOnlyList<(string? Command, string? Reason)> Refusals => _counter.Counted;

    public void Dispose() => _counter.Dispose();
}
