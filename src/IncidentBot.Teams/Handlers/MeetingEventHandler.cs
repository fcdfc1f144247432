using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Handlers;

/// <summary>A linked meeting chat's start, end, joins and leaves, on the timeline.</summary>
public sealed partial class MeetingEventHandler(IncidentService incidents, TimeProvider time, ILogger<MeetingEventHandler> logger) : ITeamsActivityHandler
{
    public IReadOnlyCollection<TeamsActivityKind> Kinds { get; } = [TeamsActivityKind.MeetingEvent];

    public async Task<InvokeResponse?> HandleAsync(TeamsTurn turn, CancellationToken cancellationToken)
    {
        var activity = turn.Activity;
        var value = activity.Value ?? default;
        var text = activity.Name switch
        {
            TeamsIds.MeetingStartEvent => $"Meeting started: {Title(value)}",
            TeamsIds.MeetingEndEvent => $"Meeting ended: {Title(value)}",
            TeamsIds.MeetingJoinEvent => $"{Participants(value)} joined the meeting",
            TeamsIds.MeetingLeaveEvent => $"{Participants(value)} left the meeting",
            _ => null,
        };
        if (text is null)
        {
            return null;
        }

        var author = activity.From?.Id is null ? null : turn.From;
        var result = await incidents.RecordMeetingEventAsync(
            new ChatSpace(TeamsIds.Platform, turn.Room), text, activity.Timestamp ?? time.GetUtcNow(), author, cancellationToken, ended: activity.Name == TeamsIds.MeetingEndEvent);
        if (result is not null)
        {
            LogMeetingEvent(logger, result.Incident.Number, activity.Name!);
        }

        return null;
    }

    private static string Title(JsonElement value) => JsonFields.Str(value, "Title") ?? JsonFields.Str(value, "title") ?? "incident bridge";

    private static string Participants(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("members", out var members) || members.ValueKind != JsonValueKind.Array)
        {
            return "Someone";
        }

        var names = members.EnumerateArray()
            .Select(m => m.TryGetProperty("user", out var u) ? JsonFields.Str(u, "name") ?? JsonFields.Str(u, "id") : null)
            .Where(n => !string.IsNullOrWhiteSpace(n))
            .ToList();
        return names.Count == 0 ? "Someone" : string.Join(", ", names);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: {Number} meeting event {Name}")]
    private static partial void LogMeetingEvent(ILogger logger, IncidentNumber number, string name);
}
