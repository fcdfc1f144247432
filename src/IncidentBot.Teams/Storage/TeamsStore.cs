using Dapper;
using IncidentBot.Storage;

namespace IncidentBot.Teams.Storage;

/// <summary>How to reach a conversation proactively (its Bot Connector service URL and context).</summary>
public sealed record ConversationReference(
    string ConversationId,
    string ServiceUrl,
    string? TenantId,
    string? ConversationType,
    string? TeamId,
    string? ChannelId,
    string? MeetingId,
    string BotId,
    string? BotName);

/// <summary>The incident card posted in one war room.</summary>
public sealed record CardPost(long IncidentId, string ConversationId, string ActivityId);

/// <summary>The Teams tables (<see cref="TeamsTables"/>): conversation references, cards.</summary>
public sealed class TeamsStore(IDbConnectionFactory database, TimeProvider time)
{
    public Task SaveConversationAsync(ConversationReference reference, CancellationToken cancellationToken) =>
        WriteConversationAsync(UpsertConversationSql, reference, cancellationToken);

    /// <summary>Saves the reference of a conversation the bot opened itself, unless one is known already (that one is kept).</summary>
    public Task SaveNewConversationAsync(ConversationReference reference, CancellationToken cancellationToken) =>
        WriteConversationAsync(InsertConversationSql, reference, cancellationToken);

    private const string InsertConversationSql = """
        INSERT INTO teams_conversations (
            conversation_id, service_url, tenant_id, conversation_type, team_id, channel_id, meeting_id, bot_id, bot_name, updated_at)
        VALUES (@ConversationId, @ServiceUrl, @TenantId, @ConversationType, @TeamId, @ChannelId, @MeetingId, @BotId, @BotName, @UpdatedAt)
        ON CONFLICT (conversation_id) DO NOTHING
        """;

    private async Task WriteConversationAsync(string sql, ConversationReference reference, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            sql,
            new
            {
                reference.ConversationId,
                reference.ServiceUrl,
                reference.TenantId,
                reference.ConversationType,
                reference.TeamId,
                reference.ChannelId,
                reference.MeetingId,
                reference.BotId,
                reference.BotName,
                UpdatedAt = time.GetUtcNow(),
            },
            cancellationToken: cancellationToken));
    }

    // Later activities may lack context an earlier one had (e.g. meeting id), so known values are kept.
    private const string UpsertConversationSql = """
        INSERT INTO teams_conversations (
            conversation_id, service_url, tenant_id, conversation_type, team_id, channel_id, meeting_id, bot_id, bot_name, updated_at)
        VALUES (@ConversationId, @ServiceUrl, @TenantId, @ConversationType, @TeamId, @ChannelId, @MeetingId, @BotId, @BotName, @UpdatedAt)
        ON CONFLICT (conversation_id) DO UPDATE SET
            service_url = excluded.service_url,
            tenant_id = COALESCE(excluded.tenant_id, teams_conversations.tenant_id),
            conversation_type = COALESCE(excluded.conversation_type, teams_conversations.conversation_type),
            team_id = COALESCE(excluded.team_id, teams_conversations.team_id),
            channel_id = COALESCE(excluded.channel_id, teams_conversations.channel_id),
            meeting_id = COALESCE(excluded.meeting_id, teams_conversations.meeting_id),
            bot_id = excluded.bot_id,
            bot_name = COALESCE(excluded.bot_name, teams_conversations.bot_name),
            updated_at = excluded.updated_at
        """;

    public async Task<ConversationReference?> GetConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ConversationReference>(new CommandDefinition(
            SelectConversationSql, new { ConversationId = conversationId }, cancellationToken: cancellationToken));
    }

    private const string SelectConversationSql = """
        SELECT conversation_id AS ConversationId, service_url AS ServiceUrl, tenant_id AS TenantId,
               conversation_type AS ConversationType, team_id AS TeamId, channel_id AS ChannelId,
               meeting_id AS MeetingId, bot_id AS BotId, bot_name AS BotName
        FROM teams_conversations WHERE conversation_id = @ConversationId
        """;

    public async Task<CardPost?> GetCardAsync(long incidentId, string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<CardPost>(new CommandDefinition(
            SelectCardsSql + " AND conversation_id = @ConversationId",
            new { IncidentId = incidentId, ConversationId = conversationId },
            cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<CardPost>> GetCardsAsync(long incidentId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<CardPost>(new CommandDefinition(
            SelectCardsSql, new { IncidentId = incidentId }, cancellationToken: cancellationToken))).AsList();
    }

    private const string SelectCardsSql = """
        SELECT incident_id AS IncidentId, conversation_id AS ConversationId, activity_id AS ActivityId
        FROM teams_cards WHERE incident_id = @IncidentId
        """;

    public async Task SaveCardAsync(CardPost card, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO teams_cards (incident_id, conversation_id, activity_id, posted_at)
            VALUES (@IncidentId, @ConversationId, @ActivityId, @PostedAt)
            ON CONFLICT (incident_id, conversation_id) DO NOTHING
            """,
            new { card.IncidentId, card.ConversationId, card.ActivityId, PostedAt = time.GetUtcNow() },
            cancellationToken: cancellationToken));
    }
}
