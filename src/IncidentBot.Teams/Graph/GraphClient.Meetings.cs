using System.Globalization;
using System.Text.Json.Nodes;

namespace IncidentBot.Teams.Graph;

/// <summary>An online meeting Graph made: its id, join link and the thread id of its chat.</summary>
public sealed record GraphMeeting(string Id, string JoinUrl, string? ThreadId);

/// <summary>A meeting transcript Graph holds (one per transcription session).</summary>
public sealed record GraphTranscript(string Id, DateTimeOffset? CreatedAt);

/// <summary>A channel found in a team, with the description the bot gave it.</summary>
public sealed record GraphChannelInfo(string Id, string DisplayName, string? Description);

public sealed partial class GraphClient
{
    /// <summary>
    /// <c>POST /users/{organizerId}/onlineMeetings/createOrGet</c>: the meeting with <paramref name="externalId"/>, made on
    /// the first call and returned as it is on every later one, so a redelivered request never makes a second meeting.
    /// </summary>
    public async Task<GraphMeeting> CreateOrGetMeetingAsync(
        string organizerId, string externalId, string subject, DateTimeOffset start, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["externalId"] = externalId,
            ["subject"] = subject,
            ["startDateTime"] = start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["endDateTime"] = start.AddHours(4).UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        };
        var meeting = await SendAsync("create_meeting", HttpMethod.Post,
            $"users/{Uri.EscapeDataString(organizerId)}/onlineMeetings/createOrGet", UserPace(organizerId), body, cancellationToken);
        return meeting?["id"]?.GetValue<string>() is { Length: > 0 } id && meeting["joinWebUrl"]?.GetValue<string>() is { Length: > 0 } joinUrl
            ? new GraphMeeting(id, joinUrl, meeting["chatInfo"]?["threadId"]?.GetValue<string>())
            : throw new GraphException("create_meeting", 200, "NoMeeting", "the answer had no meeting id or join link");
    }

    /// <summary><c>GET /users/{organizerId}/onlineMeetings/{meetingId}/transcripts</c>: empty while none is ready (Graph may answer 404 then).</summary>
    public async Task<IReadOnlyList<GraphTranscript>> ListTranscriptsAsync(string organizerId, string meetingId, CancellationToken cancellationToken)
    {
        JsonNode? list;
        try
        {
            list = await SendAsync("list_transcripts", HttpMethod.Get,
                $"users/{Uri.EscapeDataString(organizerId)}/onlineMeetings/{Uri.EscapeDataString(meetingId)}/transcripts", UserPace(organizerId), null, cancellationToken);
        }
        catch (GraphException ex) when (ex.Status == 404)
        {
            return [];
        }

        return (list?["value"] as JsonArray ?? [])
            .Select(t => t?["id"]?.GetValue<string>() is { Length: > 0 } id
                ? new GraphTranscript(id, DateTimeOffset.TryParse(t["createdDateTime"]?.GetValue<string>(), CultureInfo.InvariantCulture, out var at) ? at : null)
                : null)
            .OfType<GraphTranscript>()
            .OrderBy(t => t.CreatedAt)
            .ToList();
    }

    /// <summary><c>GET …/transcripts/{transcriptId}/content?$format=text/vtt</c>: the transcript as WebVTT.</summary>
    public Task<string> GetTranscriptContentAsync(string organizerId, string meetingId, string transcriptId, CancellationToken cancellationToken) =>
        SendTextAsync("get_transcript", HttpMethod.Get,
            $"users/{Uri.EscapeDataString(organizerId)}/onlineMeetings/{Uri.EscapeDataString(meetingId)}/transcripts/{Uri.EscapeDataString(transcriptId)}/content?$format=text/vtt",
            UserPace(organizerId), null, cancellationToken);

    /// <summary><c>GET /teams/{teamId}/channels?$filter=displayName eq '…'</c>: the channel of that name, if the team has one.</summary>
    public async Task<GraphChannelInfo?> FindChannelAsync(string teamId, string displayName, CancellationToken cancellationToken)
    {
        var filter = Uri.EscapeDataString($"displayName eq '{displayName.Replace("'", "''", StringComparison.Ordinal)}'");
        var list = await SendAsync("list_channels", HttpMethod.Get, $"teams/{Uri.EscapeDataString(teamId)}/channels?$filter={filter}", teamId, null, cancellationToken);
        return (list?["value"] as JsonArray ?? [])
            .Where(c => string.Equals(c?["displayName"]?.GetValue<string>(), displayName, StringComparison.OrdinalIgnoreCase))
            .Select(c => new GraphChannelInfo(c!["id"]!.GetValue<string>(), c["displayName"]!.GetValue<string>(), c["description"]?.GetValue<string>()))
            .FirstOrDefault();
    }

    private static string UserPace(string userId) => "user:" + userId;
}
