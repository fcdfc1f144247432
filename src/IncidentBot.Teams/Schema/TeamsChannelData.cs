using System.Text.Json;

namespace IncidentBot.Teams.Schema;

/// <summary>What the bot reads from an activity's Teams <c>channelData</c>.</summary>
public sealed record TeamsChannelData(string? TenantId, string? TeamId, string? ChannelId, string? MeetingId, string? EventType)
{
    public static TeamsChannelData From(Activity activity)
    {
        var data = activity.ChannelData;
        var tenant = Read(data, "tenant", "id") ?? activity.Conversation?.TenantId;
        return new TeamsChannelData(
            tenant,
            Read(data, "team", "id") ?? Read(data, "teamsTeamId"),
            Read(data, "channel", "id") ?? Read(data, "teamsChannelId"),
            Read(data, "meeting", "id"),
            Read(data, "eventType"));
    }

    private static string? Read(JsonElement? element, params string[] path)
    {
        if (element is not { ValueKind: JsonValueKind.Object } current)
        {
            return null;
        }

        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }

        return current.ValueKind == JsonValueKind.String ? current.GetString() : null;
    }
}
