using System.Data.Common;
using System.Globalization;
using System.Reflection;
using Dapper;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Storage;

/// <summary>A versioned schema script of one provider, embedded as <c>Migrations/&lt;Provider&gt;/NNNN_name.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Brings the schema up to date: applies the provider's scripts that <c>schema_migrations</c> does not list,
/// in version order, in one transaction. Safe to run from several processes at once: PostgreSQL serializes
/// them on an advisory lock, SQLite on its write lock.
/// </summary>
public sealed partial class DatabaseMigrator(IDbConnectionFactory database, TimeProvider time, ILogger<DatabaseMigrator> logger)
{
    // Any constant works; it only has to be the same in every process migrating this database.
    private const long PostgresLockKey = 0x1BC1_D3E7_0001;

    static DatabaseMigrator() => TypeHandlers.EnsureRegistered();

    /// <summary>The scripts this build knows for <paramref name="provider"/>, oldest first.</summary>
    public static IReadOnlyList<Migration> For(DatabaseProvider provider)
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var prefix = $"Migrations/{provider}/";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var name = Path.GetFileNameWithoutExtension(resource[prefix.Length..]);
            var separator = name.IndexOf('_', StringComparison.Ordinal);
            if (separator < 1 || !int.TryParse(name.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration {resource} is not named NNNN_name.sql.");
            }

            migrations.Add(new Migration(version, name, ReadResource(assembly, resource)));
        }

        return migrations.OrderBy(m => m.Version).ToList();
    }

    /// <summary>Applies the missing migrations; returns how many were applied.</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = For(database.Provider);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginWriteAsync(cancellationToken);
        if (database.Provider == DatabaseProvider.Postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition(LockSql, new { Key = PostgresLockKey }, transaction, cancellationToken: cancellationToken));
        }

        await connection.ExecuteAsync(new CommandDefinition(
            database.Provider == DatabaseProvider.Postgres ? CreateHistoryPostgresSql : CreateHistorySqliteSql,
            transaction: transaction,
            cancellationToken: cancellationToken));
        var applied = (await AppliedAsync(connection, transaction, cancellationToken)).ToHashSet();
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        if (applied.Count > 0 && applied.Max() > latest)
        {
            // A newer build migrated this database (a rollback, or a rolling deploy): scripts only add, so carry on.
            LogNewerSchema(logger, database.Provider, applied.Max(), latest);
        }

        var count = 0;
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
        {
            LogApplying(logger, migration.Name, database.Provider);
            await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                RecordSql,
                new { migration.Version, AppliedAt = time.GetUtcNow() },
                transaction,
                cancellationToken: cancellationToken));
            count++;
        }

        await transaction.CommitAsync(cancellationToken);
        LogUpToDate(logger, database.Provider, latest, count);
        return count;
    }

    private const string LockSql = "SELECT pg_advisory_xact_lock(@Key)";

    private const string CreateHistoryPostgresSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL
        )
        """;

    private const string CreateHistorySqliteSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at TEXT NOT NULL
        ) STRICT
        """;

    private const string RecordSql = "INSERT INTO schema_migrations (version, applied_at) VALUES (@Version, @AppliedAt)";

    /// <summary>The versions recorded in <c>schema_migrations</c>, oldest first (empty before the first migration).</summary>
    public async Task<IReadOnlyList<int>> GetAppliedVersionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            database.Provider == DatabaseProvider.Postgres ? HistoryExistsPostgresSql : HistoryExistsSqliteSql,
            cancellationToken: cancellationToken));
        return exists ? await AppliedAsync(connection, null, cancellationToken) : [];
    }

    private const string HistoryExistsPostgresSql = "SELECT to_regclass('schema_migrations') IS NOT NULL";

    private const string HistoryExistsSqliteSql = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')";

    private static async Task<IReadOnlyList<int>> AppliedAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<int>(new CommandDefinition(AppliedSql, transaction: transaction, cancellationToken: cancellationToken))).AsList();

    private const string AppliedSql = "SELECT version FROM schema_migrations ORDER BY version";

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Migration resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying migration {Migration} to the {Provider} database")]
    private static partial void LogApplying(ILogger logger, string migration, DatabaseProvider provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Provider} database schema is at version {Applied}, newer than this build's {Known}")]
    private static partial void LogNewerSchema(ILogger logger, DatabaseProvider provider, int applied, int known);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Provider} database schema is at version {Version} ({Applied} migrations applied now)")]
    private static partial void LogUpToDate(ILogger logger, DatabaseProvider provider, int version, int applied);
}
