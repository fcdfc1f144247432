using System.Text;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Teams.Graph;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Meetings;

/// <summary>Graph has no transcript of the meeting yet; the outbox tries again later, with growing gaps.</summary>
public sealed class TranscriptNotReadyException(string message) : Exception(message);

/// <summary>
/// When a bridge meeting ends, adds its transcripts to the timeline as speaker-attributed <see cref="TimelineKind.Transcript"/>
/// entries (up to <c>Teams:TranscriptMaxEntries</c>, the rest in one entry). Transcripts appear minutes after the end, so
/// until Graph lists one this delivery fails and the outbox retries it with backoff (its own lane: nothing else waits).
/// Each transcript is added once, in one change, however often the event is delivered.
/// </summary>
public sealed partial class TranscriptImporter(
    MeetingStore meetings,
    GraphClient graph,
    IncidentService service,
    IChatDeliveries deliveries,
    IOptions<TeamsOptions> options,
    ILogger<TranscriptImporter> logger) : IIncidentEventHandler
{
    public string Name => "teams-transcripts";

    public string Destination => "Teams (meeting transcript)";

    public bool Receives(Type eventType) => eventType == typeof(MeetingEnded);

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        if (incidentEvent is not MeetingEnded { Room.Platform: TeamsIds.Platform } ended || !options.Value.HasMeetingBridge
            || await meetings.FindByThreadAsync(ended.Room.Channel, cancellationToken) is not { MeetingId: { } meetingId } meeting)
        {
            return;
        }

        var transcripts = await graph.ListTranscriptsAsync(meeting.OrganizerId, meetingId, cancellationToken);
        if (transcripts.Count == 0)
        {
            throw new TranscriptNotReadyException($"No transcript of the {ended.Number} meeting yet (Graph lists them minutes after the end).");
        }

        foreach (var transcript in transcripts)
        {
            var key = $"{ended.IncidentId}:transcript:{transcript.Id}";
            if (await deliveries.WasMadeAsync(ended.Room, key, cancellationToken))
            {
                continue;
            }

            var vtt = await graph.GetTranscriptContentAsync(meeting.OrganizerId, meetingId, transcript.Id, cancellationToken);
            var lines = WebVtt.Parse(vtt);
            var entries = Entries(lines, transcript.CreatedAt ?? ended.OccurredAt, options.Value.TranscriptMaxEntries);
            if (entries.Count > 0)
            {
                await service.RecordTranscriptAsync(ended.Number, entries, cancellationToken);
            }

            await deliveries.RecordAsync(ended.Room, key, cancellationToken);
            LogImported(logger, ended.Number, lines.Count);
        }
    }

    /// <summary>One entry per line up to <paramref name="cap"/>; past it, the last entry holds every remaining line.</summary>
    public static IReadOnlyList<NewTimelineEntry> Entries(IReadOnlyList<TranscriptLine> lines, DateTimeOffset start, int cap)
    {
        ArgumentNullException.ThrowIfNull(lines);
        NewTimelineEntry Entry(TranscriptLine line) =>
            new(start + line.Offset, TimelineKind.Transcript, new Person(TeamsIds.Platform, "transcript:" + line.Speaker, line.Speaker), line.Text);

        if (lines.Count <= cap)
        {
            return lines.Select(Entry).ToList();
        }

        var entries = lines.Take(cap - 1).Select(Entry).ToList();
        var rest = lines.Skip(cap - 1).ToList();
        var text = new StringBuilder($"Transcript continued ({rest.Count} more lines; the full transcript is in the meeting's recap in Teams):");
        foreach (var line in rest)
        {
            text.Append('\n').Append(line.Speaker).Append(": ").Append(line.Text);
        }

        entries.Add(new NewTimelineEntry(start + rest[0].Offset, TimelineKind.Transcript, null, text.ToString()));
        return entries;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: added a meeting transcript of {Lines} lines to {Number}")]
    private static partial void LogImported(ILogger logger, IncidentNumber number, int lines);
}
