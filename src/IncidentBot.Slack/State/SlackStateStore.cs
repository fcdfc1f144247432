using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Slack.State;

/// <summary>War-room creation progress for one incident (table <c>slack_war_rooms</c>).</summary>
public sealed record WarRoomProgress(long IncidentId, string ChannelName, string? ChannelId, bool Invited, bool TopicSet, bool Announced, bool Linked);

/// <summary>The Slack front-end's own tables (<see cref="SlackTables"/>): war-room progress, cards.</summary>
public sealed class SlackStateStore(IDbConnectionFactory database, TimeProvider time)
{
    /// <summary>The progress row of an incident's war room, created with <paramref name="channelName"/> on first use.</summary>
    public async Task<WarRoomProgress> GetOrStartWarRoomAsync(long incidentId, string channelName, CancellationToken cancellationToken)
    {
        const string insert = """
            INSERT INTO slack_war_rooms (incident_id, channel_name, updated_at) VALUES (@IncidentId, @ChannelName, @Now)
            ON CONFLICT (incident_id) DO NOTHING
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(insert, new { IncidentId = incidentId, ChannelName = channelName, Now = time.GetUtcNow() }, cancellationToken: cancellationToken));
        var row = await connection.QuerySingleAsync<ProgressRow>(new CommandDefinition(SelectProgressSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken));
        return row.ToProgress();
    }

    private const string SelectProgressSql = """
        SELECT incident_id AS IncidentId, channel_name AS ChannelName, channel_id AS ChannelId,
               invited AS Invited, topic_set AS TopicSet, announced AS Announced, linked AS Linked
        FROM slack_war_rooms WHERE incident_id = @IncidentId
        """;

    /// <summary>Changes the name to try next (before the create call, so a crash retries the same name).</summary>
    public Task SetChannelNameAsync(long incidentId, string channelName, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE slack_war_rooms SET channel_name = @ChannelName, updated_at = @Now WHERE incident_id = @IncidentId",
            new { IncidentId = incidentId, ChannelName = channelName, Now = time.GetUtcNow() }, cancellationToken);

    public Task SetChannelAsync(long incidentId, string channelId, CancellationToken cancellationToken) =>
        ExecuteAsync("UPDATE slack_war_rooms SET channel_id = @ChannelId, updated_at = @Now WHERE incident_id = @IncidentId",
            new { IncidentId = incidentId, ChannelId = channelId, Now = time.GetUtcNow() }, cancellationToken);

    /// <summary>Starts the war room over under <paramref name="channelName"/>: a new channel, every step to do again (an incident turned private).</summary>
    public Task RestartWarRoomAsync(long incidentId, string channelName, CancellationToken cancellationToken)
    {
        var no = database.Dialect().False;
        return ExecuteAsync(
            $"UPDATE slack_war_rooms SET channel_name = @ChannelName, channel_id = NULL, invited = {no}, topic_set = {no}, announced = {no}, linked = {no}, updated_at = @Now WHERE incident_id = @IncidentId",
            new { IncidentId = incidentId, ChannelName = channelName, Now = time.GetUtcNow() }, cancellationToken);
    }

    /// <summary>Marks one step done: <c>invited</c>, <c>topic_set</c>, <c>announced</c> or <c>linked</c>.</summary>
    public Task MarkAsync(long incidentId, WarRoomStep step, CancellationToken cancellationToken)
    {
        var column = step switch
        {
            WarRoomStep.Invited => "invited",
            WarRoomStep.TopicSet => "topic_set",
            WarRoomStep.Announced => "announced",
            WarRoomStep.Linked => "linked",
            _ => throw new ArgumentOutOfRangeException(nameof(step)),
        };
        return ExecuteAsync($"UPDATE slack_war_rooms SET {column} = {database.Dialect().True}, updated_at = @Now WHERE incident_id = @IncidentId",
            new { IncidentId = incidentId, Now = time.GetUtcNow() }, cancellationToken);
    }

    /// <summary>The incident whose war room this channel was created as, if we created one.</summary>
    public async Task<long?> FindIncidentByCreatedChannelAsync(string channelId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT incident_id FROM slack_war_rooms WHERE channel_id = @ChannelId", new { ChannelId = channelId }, cancellationToken: cancellationToken));
    }

    public async Task<string?> GetCardAsync(string channelId, long incidentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT message_ts FROM slack_cards WHERE channel_id = @ChannelId AND incident_id = @IncidentId",
            new { ChannelId = channelId, IncidentId = incidentId }, cancellationToken: cancellationToken));
    }

    public Task SaveCardAsync(string channelId, long incidentId, string ts, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO slack_cards (channel_id, incident_id, message_ts, posted_at) VALUES (@ChannelId, @IncidentId, @Ts, @Now)
            ON CONFLICT (channel_id, incident_id) DO NOTHING
            """, new { ChannelId = channelId, IncidentId = incidentId, Ts = ts, Now = time.GetUtcNow() }, cancellationToken);

    private async Task ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }

    private sealed class ProgressRow
    {
        public long IncidentId { get; init; }
        public string ChannelName { get; init; } = "";
        public string? ChannelId { get; init; }
        public bool Invited { get; init; }
        public bool TopicSet { get; init; }
        public bool Announced { get; init; }
        public bool Linked { get; init; }

        public WarRoomProgress ToProgress() => new(IncidentId, ChannelName, ChannelId, Invited, TopicSet, Announced, Linked);
    }
}

public enum WarRoomStep
{
    Invited,
    TopicSet,
    Announced,
    Linked,
}
