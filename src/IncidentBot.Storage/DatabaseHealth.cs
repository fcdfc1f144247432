using Dapper;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Storage;

/// <summary>Readiness of the database, for <c>/readyz</c>.</summary>
public interface IDatabaseHealth
{
    /// <summary>True when a connection opens and answers a trivial query.</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

internal sealed partial class DatabaseHealth(IDbConnectionFactory database, ILogger<DatabaseHealth> logger) : IDatabaseHealth
{
    static DatabaseHealth() => TypeHandlers.EnsureRegistered();

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            return await connection.ExecuteScalarAsync<int>(new CommandDefinition(PingSql, cancellationToken: cancellationToken)) == 1;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogNotReady(logger, ex, database.Provider);
            return false;
        }
    }

    private const string PingSql = "SELECT 1";

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Provider} database is not ready")]
    private static partial void LogNotReady(ILogger logger, Exception exception, DatabaseProvider provider);
}
