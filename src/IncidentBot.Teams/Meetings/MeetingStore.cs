using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Teams.Meetings;

/// <summary>
/// One meeting bridge request of an incident: the meeting Graph made (id, join link, its chat's thread id), or why it
/// could not be made (<see cref="Failure"/>).
/// </summary>
public sealed record BridgeMeeting(
    long IncidentId,
    string RequestKey,
    string OrganizerId,
    string? MeetingId,
    string? JoinUrl,
    string? ThreadId,
    string? Failure)
{
    public bool Created => MeetingId is not null && JoinUrl is not null;
}

/// <summary>The <c>teams_meetings</c> table: every bridge made (or refused) per incident; the newest is the incident's bridge.</summary>
public sealed class MeetingStore(IDbConnectionFactory database, TimeProvider time)
{
    private const string Columns = """
        incident_id AS IncidentId, request_key AS RequestKey, organizer_id AS OrganizerId, meeting_id AS MeetingId,
        join_url AS JoinUrl, thread_id AS ThreadId, failure AS Failure
        """;

    public async Task<BridgeMeeting?> GetAsync(long incidentId, string requestKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<BridgeMeeting>(new CommandDefinition(
            $"SELECT {Columns} FROM teams_meetings WHERE incident_id = @IncidentId AND request_key = @RequestKey",
            new { IncidentId = incidentId, RequestKey = requestKey }, cancellationToken: cancellationToken));
    }

    /// <summary>The incident's bridge: the newest request's meeting or failure; null when none was asked for.</summary>
    public async Task<BridgeMeeting?> CurrentAsync(long incidentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.QueryFirstOrDefaultAsync<BridgeMeeting>(new CommandDefinition(
            $"SELECT {Columns} FROM teams_meetings WHERE incident_id = @IncidentId ORDER BY created_at DESC LIMIT 1",
            new { IncidentId = incidentId }, cancellationToken: cancellationToken));
    }

    /// <summary>The bridge whose meeting chat is <paramref name="threadId"/>.</summary>
    public async Task<BridgeMeeting?> FindByThreadAsync(string threadId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.QueryFirstOrDefaultAsync<BridgeMeeting>(new CommandDefinition(
            $"SELECT {Columns} FROM teams_meetings WHERE thread_id = @ThreadId ORDER BY created_at DESC LIMIT 1",
            new { ThreadId = threadId }, cancellationToken: cancellationToken));
    }

    /// <summary>Records a request's outcome once; a redelivery keeps the first record, which is returned.</summary>
    public async Task<BridgeMeeting> SaveAsync(BridgeMeeting meeting, CancellationToken cancellationToken)
    {
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO teams_meetings (incident_id, request_key, organizer_id, meeting_id, join_url, thread_id, failure, created_at)
                VALUES (@IncidentId, @RequestKey, @OrganizerId, @MeetingId, @JoinUrl, @ThreadId, @Failure, @CreatedAt)
                ON CONFLICT (incident_id, request_key) DO NOTHING
                """,
                new
                {
                    meeting.IncidentId,
                    meeting.RequestKey,
                    meeting.OrganizerId,
                    meeting.MeetingId,
                    meeting.JoinUrl,
                    meeting.ThreadId,
                    meeting.Failure,
                    CreatedAt = time.GetUtcNow(),
                },
                cancellationToken: cancellationToken));
        }

        return await GetAsync(meeting.IncidentId, meeting.RequestKey, cancellationToken) ?? meeting;
    }
}
