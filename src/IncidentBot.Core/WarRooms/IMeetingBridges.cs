namespace IncidentBot.Core.WarRooms;

/// <summary>
/// A front-end that makes a meeting bridge per incident (online meetings). Absent, or not <see cref="Enabled"/>:
/// the <c>bridge</c> command says bridges are off instead of promising one.
/// </summary>
public interface IMeetingBridges
{
    bool Enabled { get; }
}
