using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Storage;

/// <summary>
/// Brings the schema up to date: applies the scripts of every registered <see cref="TableSet"/> (Storage's first, then
/// by name) that <c>schema_migrations</c> does not list, in version order within each set, in one transaction. Safe to
/// run from several processes at once: PostgreSQL serializes them on an advisory lock, SQLite on its write lock.
/// </summary>
public sealed partial class DatabaseMigrator(
    IDbConnectionFactory database, IEnumerable<TableSet> tableSets, TimeProvider time, ILogger<DatabaseMigrator> logger)
{
    // Any constant works; it only has to be the same in every process migrating this database.
    private const long PostgresLockKey = 0x1BC1_D3E7_0001;

    private readonly IReadOnlyList<TableSet> _sets = tableSets
        .OrderBy(s => s.Name == TableSet.StorageName ? 0 : 1)
        .ThenBy(s => s.Name, StringComparer.Ordinal)
        .ToList();

    static DatabaseMigrator() => TypeHandlers.EnsureRegistered();

    /// <summary>Every script this build knows for the database's provider, in the order they are applied.</summary>
    public IReadOnlyList<Migration> Known => _sets.SelectMany(s => s.MigrationsFor(database.Provider)).ToList();

    /// <summary>Applies the missing migrations; returns how many were applied (adopted ones are not counted).</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var migrations = Known;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginWriteAsync(cancellationToken);
        var postgres = database.Provider == DatabaseProvider.Postgres;
        if (postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition(LockSql, new { Key = PostgresLockKey }, transaction, cancellationToken: cancellationToken));
        }

        await EnsureHistoryAsync(connection, transaction, postgres, cancellationToken);
        var applied = (await AppliedAsync(connection, transaction, cancellationToken)).ToHashSet();
        foreach (var newer in applied.GroupBy(a => a.Source)
            .Select(g => (Source: g.Key, Applied: g.Max(a => a.Version), Known: migrations.Where(m => m.Id.Source == g.Key).Select(m => m.Id.Version).DefaultIfEmpty().Max()))
            .Where(s => s.Known > 0 && s.Applied > s.Known))
        {
            // A newer build migrated this database (a rollback, or a rolling deploy): scripts only add, so carry on.
            LogNewerSchema(logger, database.Provider, newer.Source, newer.Applied, newer.Known);
        }

        var count = 0;
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Id)))
        {
            if (migration.Adopts.FirstOrDefault(applied.Contains) is { Source: not null } adopted)
            {
                // An older build made these changes under another set's number (before the set owned its tables).
                LogAdopting(logger, migration.Id, migration.Name, adopted);
            }
            else
            {
                LogApplying(logger, migration.Id, migration.Name, database.Provider);
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
                count++;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                RecordSql,
                new { migration.Id.Source, migration.Id.Version, AppliedAt = time.GetUtcNow() },
                transaction,
                cancellationToken: cancellationToken));
            applied.Add(migration.Id);
        }

        await transaction.CommitAsync(cancellationToken);
        LogUpToDate(logger, database.Provider, migrations.Count, count);
        return count;
    }

    /// <summary>The migrations recorded in <c>schema_migrations</c> (empty before the first migration).</summary>
    public async Task<IReadOnlyList<MigrationId>> GetAppliedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var (columns, _) = await HistoryShapeAsync(connection, null, database.Provider == DatabaseProvider.Postgres, cancellationToken);
        return columns > 0 ? await AppliedAsync(connection, null, cancellationToken) : [];
    }

    /// <summary>
    /// Creates the history, or brings one written by a build from before table sets (a <c>version</c> per Storage
    /// script only) to the <c>(source, version)</c> shape: its rows are Storage's.
    /// </summary>
    private static async Task EnsureHistoryAsync(DbConnection connection, DbTransaction transaction, bool postgres, CancellationToken cancellationToken)
    {
        var (columns, hasSource) = await HistoryShapeAsync(connection, transaction, postgres, cancellationToken);
        var sql = columns == 0 ? (postgres ? CreateHistoryPostgresSql : CreateHistorySqliteSql)
            : hasSource ? null
            : postgres ? UpgradeHistoryPostgresSql : UpgradeHistorySqliteSql;
        if (sql is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
        }
    }

    private static async Task<(long Columns, bool HasSource)> HistoryShapeAsync(
        DbConnection connection, DbTransaction? transaction, bool postgres, CancellationToken cancellationToken)
    {
        var shape = await connection.QuerySingleAsync<HistoryShape>(new CommandDefinition(
            postgres ? HistoryShapePostgresSql : HistoryShapeSqliteSql, transaction: transaction, cancellationToken: cancellationToken));
        return (shape.Columns, shape.Source > 0);
    }

    private static async Task<IReadOnlyList<MigrationId>> AppliedAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<HistoryRow>(new CommandDefinition(AppliedSql, transaction: transaction, cancellationToken: cancellationToken)))
            .Select(r => new MigrationId(r.Source, checked((int)r.Version)))
            .ToList();

    private const string LockSql = "SELECT pg_advisory_xact_lock(@Key)";

    private const string HistoryShapePostgresSql = """
        SELECT COUNT(*) AS Columns, COUNT(*) FILTER (WHERE column_name = 'source') AS Source
        FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations'
        """;

    private const string HistoryShapeSqliteSql = """
        SELECT COUNT(*) AS Columns, COALESCE(SUM(name = 'source'), 0) AS Source FROM pragma_table_info('schema_migrations')
        """;

    // Columns in this order so a history created here and one upgraded below are the same table.
    private const string CreateHistoryPostgresSql = """
        CREATE TABLE schema_migrations (
            version integer NOT NULL,
            applied_at timestamptz NOT NULL,
            source text NOT NULL,
            PRIMARY KEY (source, version)
        )
        """;

    private const string CreateHistorySqliteSql = """
        CREATE TABLE schema_migrations (
            version INTEGER NOT NULL,
            applied_at TEXT NOT NULL,
            source TEXT NOT NULL,
            PRIMARY KEY (source, version)
        ) STRICT
        """;

    private const string UpgradeHistoryPostgresSql = """
        ALTER TABLE schema_migrations ADD COLUMN source text NOT NULL DEFAULT 'storage';
        ALTER TABLE schema_migrations ALTER COLUMN source DROP DEFAULT;
        ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey;
        ALTER TABLE schema_migrations ADD PRIMARY KEY (source, version);
        """;

    // SQLite cannot change a primary key in place.
    private const string UpgradeHistorySqliteSql = "ALTER TABLE schema_migrations RENAME TO schema_migrations_before_sets;\n"
        + CreateHistorySqliteSql + ";\n" + """
        INSERT INTO schema_migrations (version, applied_at, source) SELECT version, applied_at, 'storage' FROM schema_migrations_before_sets;
        DROP TABLE schema_migrations_before_sets;
        """;

    private const string RecordSql = "INSERT INTO schema_migrations (source, version, applied_at) VALUES (@Source, @Version, @AppliedAt)";

    private const string AppliedSql = "SELECT source AS Source, version AS Version FROM schema_migrations ORDER BY source, version";

    private sealed class HistoryShape
    {
        public long Columns { get; init; }
        public long Source { get; init; }
    }

    private sealed class HistoryRow
    {
        public string Source { get; init; } = "";
        public long Version { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying migration {Migration} ({Name}) to the {Provider} database")]
    private static partial void LogApplying(ILogger logger, MigrationId migration, string name, DatabaseProvider provider);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recording migration {Migration} ({Name}) as applied: an older build applied it as {Adopted}")]
    private static partial void LogAdopting(ILogger logger, MigrationId migration, string name, MigrationId adopted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {Provider} database schema of {Source} is at version {Applied}, newer than this build's {Known}")]
    private static partial void LogNewerSchema(ILogger logger, DatabaseProvider provider, string source, int applied, int known);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Provider} database schema is up to date ({Known} migrations known, {Applied} applied now)")]
    private static partial void LogUpToDate(ILogger logger, DatabaseProvider provider, int known, int applied);
}
