using System.Reflection;
using System.Text.Json.Serialization;

namespace IncidentBot.Core.Incidents;

/// <summary>
/// The stable name of each <see cref="IncidentEvent"/> type: its JSON discriminator (<c>update_posted</c>), the same across
/// releases whatever the class is called. Outbox rows and delivery keys are built from it, never from a type's name.
/// </summary>
public static class IncidentEventNames
{
    private static readonly Dictionary<Type, string> Names = typeof(IncidentEvent)
        .GetCustomAttributes<JsonDerivedTypeAttribute>()
        .Where(a => a.TypeDiscriminator is string)
        .ToDictionary(a => a.DerivedType, a => (string)a.TypeDiscriminator!);

    /// <summary>Every event type and its stable name.</summary>
    public static IReadOnlyDictionary<Type, string> All => Names;

    public static string Of(IncidentEvent incidentEvent)
    {
        ArgumentNullException.ThrowIfNull(incidentEvent);
        return Names.TryGetValue(incidentEvent.GetType(), out var name)
            ? name
            : throw new NotSupportedException($"{incidentEvent.GetType().Name} is not a registered IncidentEvent type.");
    }
}
