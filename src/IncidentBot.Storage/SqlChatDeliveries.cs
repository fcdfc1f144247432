using Dapper;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;

namespace IncidentBot.Storage;

/// <summary>The war-room posts already made, for every chat platform (table <c>chat_deliveries</c>).</summary>
public sealed class SqlChatDeliveries(IDbConnectionFactory database, TimeProvider time) : IChatDeliveries
{
    public async Task<bool> WasMadeAsync(ChatSpace room, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM chat_deliveries WHERE platform = @Platform AND room = @Room AND delivery_key = @Key",
            new { room.Platform, Room = room.Channel, Key = key },
            cancellationToken: cancellationToken)) > 0;
    }

    public async Task RecordAsync(ChatSpace room, string key, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO chat_deliveries (platform, room, delivery_key, delivered_at) VALUES (@Platform, @Room, @Key, @Now)
            ON CONFLICT (platform, room, delivery_key) DO NOTHING
            """;
        ArgumentNullException.ThrowIfNull(room);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            sql, new { room.Platform, Room = room.Channel, Key = key, Now = time.GetUtcNow() }, cancellationToken: cancellationToken));
    }
}
