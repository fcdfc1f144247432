using System.Text.Json;
using System.Text.Json.Serialization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Storage;

/// <summary>How <see cref="IncidentEvent"/>s are written to the outbox: camelCase JSON with the <c>type</c> discriminator.</summary>
internal static class EventJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // jsonb stores keys in its own order, so "type" need not come first when the payload is read back.
        AllowOutOfOrderMetadataProperties = true,
        Converters =
        {
            new JsonStringEnumConverter(JsonNamingPolicy.CamelCase),
            new StoredTimeConverter(),
            new IncidentNumberConverter(),
        },
    };

    /// <summary>Every stored event type and its <c>event_type</c> (the discriminator).</summary>
    public static IReadOnlyDictionary<Type, string> StoredTypes => IncidentEventNames.All;

    public static string TypeOf(IncidentEvent incidentEvent) => IncidentEventNames.Of(incidentEvent);

    public static string Serialize(IncidentEvent incidentEvent) => JsonSerializer.Serialize(incidentEvent, Options);

    public static IncidentEvent Deserialize(string json) =>
        JsonSerializer.Deserialize<IncidentEvent>(json, Options) ?? throw new JsonException("The payload is null.");

    /// <summary>Event times are stored like column times, so an event and its incident row agree to the microsecond.</summary>
    private sealed class StoredTimeConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DatabaseTime.Truncate(reader.GetDateTimeOffset());

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(DatabaseTime.ToIsoText(value));
    }

    private sealed class IncidentNumberConverter : JsonConverter<IncidentNumber>
    {
        public override IncidentNumber Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            new(reader.GetInt32());

        public override void Write(Utf8JsonWriter writer, IncidentNumber value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value.Value);
    }
}
