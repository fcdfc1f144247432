using Dapper;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Storage;

/// <summary>Readiness of the database, for <c>/readyz</c>.</summary>
public interface IDatabaseHealth
{
    /// <summary>True when the database answers and takes writes (a read-only file or a standby is not ready).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken);
}

internal sealed partial class DatabaseHealth(IDbConnectionFactory database, ILogger<DatabaseHealth> logger) : IDatabaseHealth
{
    static DatabaseHealth() => TypeHandlers.EnsureRegistered();

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await database.RunAsync(
                async connection => database.Provider == DatabaseProvider.Postgres
                    ? await connection.ExecuteScalarAsync<bool>(new CommandDefinition(PostgresWritableSql, cancellationToken: cancellationToken))
                    : await connection.ExecuteAsync(new CommandDefinition(SqliteWriteSql, cancellationToken: cancellationToken)) == 1,
                cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogNotReady(logger, ex, database.Provider);
            return false;
        }
    }

    // A standby (or a session forced read-only) answers reads, but every change the bot makes would fail.
    private const string PostgresWritableSql = "SELECT current_setting('transaction_read_only') = 'off'";

    // A file that turned read-only (or a full disk) still answers reads; only a committed write finds out.
    private const string SqliteWriteSql = "UPDATE incident_counter SET last_number = last_number WHERE id = 1";

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Provider} database is not ready")]
    private static partial void LogNotReady(ILogger logger, Exception exception, DatabaseProvider provider);
}
