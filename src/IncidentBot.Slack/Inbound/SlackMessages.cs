using System.Text.Json;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Inbound;

/// <summary>
/// Which Slack messages are people talking, and what of them goes into the timeline. One set of rules for a message
/// as it arrives (an event) and as it is read back later (<c>conversations.history</c>), which share one shape.
/// </summary>
public static class SlackMessages
{
    // Subtypes that are people talking; every other subtype (joins, topic changes, bot posts, ...) is noise.
    private static readonly HashSet<string> CapturedSubtypes = new(StringComparer.Ordinal) { "file_share", "thread_broadcast", "me_message" };

    /// <summary>A person's message (not a bot's, not a join or topic change): its author and ts.</summary>
    public static bool IsPersonTalking(JsonElement message, IReadOnlySet<string> botUserIds, out string user, out string ts)
    {
        user = Str(message, "user") ?? "";
        ts = Str(message, "ts") ?? "";
        var subtype = Str(message, "subtype");
        return (subtype is null || CapturedSubtypes.Contains(subtype))
            && user.Length > 0 && ts.Length > 0
            && !IsBot(message, user, botUserIds);
    }

    public static bool IsBot(JsonElement message, string? user, IReadOnlySet<string> botUserIds) =>
        Str(message, "bot_id") is not null || user is not null && botUserIds.Contains(user);

    /// <summary>The text, with the names of shared files appended.</summary>
    public static string TextOf(JsonElement message)
    {
        var text = Str(message, "text") ?? "";
        if (message.TryGetProperty("files", out var files) && files.ValueKind == JsonValueKind.Array)
        {
            var names = files.EnumerateArray().Select(f => Str(f, "name") ?? Str(f, "title")).Where(n => n is not null).ToList();
            if (names.Count > 0)
            {
                text = (text.Length > 0 ? text + "\n" : "") + "[files: " + string.Join(", ", names) + "]";
            }
        }

        return text;
    }

    /// <summary>A person (not a bot) who has put one of <paramref name="pinReactions"/> on the message, or null.</summary>
    public static string? PinnedBy(JsonElement message, IReadOnlyCollection<string> pinReactions, IReadOnlySet<string> botUserIds)
    {
        if (!message.TryGetProperty("reactions", out var reactions) || reactions.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        return reactions.EnumerateArray()
            .Where(r => Str(r, "name") is { } name && pinReactions.Contains(name, StringComparer.Ordinal))
            .SelectMany(r => r.TryGetProperty("users", out var users) && users.ValueKind == JsonValueKind.Array ? users.EnumerateArray() : Enumerable.Empty<JsonElement>())
            .Where(u => u.ValueKind == JsonValueKind.String && !botUserIds.Contains(u.GetString()!))
            .Select(u => u.GetString())
            .FirstOrDefault();
    }
}
