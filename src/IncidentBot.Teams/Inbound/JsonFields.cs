using System.Text.Json;

namespace IncidentBot.Teams.Inbound;

/// <summary>Reading the loosely shaped JSON of activity values and card data.</summary>
internal static class JsonFields
{
    /// <summary>A string field; a number is read as its text (<c>"incident": 42</c>); anything else is null.</summary>
    public static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;
}
