using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IncidentBot.Storage;

/// <summary>Opens connections to the configured database; the one shared data source of the process.</summary>
public interface IDbConnectionFactory
{
    DatabaseProvider Provider { get; }

    /// <summary>An open connection; the caller disposes it.</summary>
    ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> on a connection of its own, and again on a fresh one after a short, growing pause
    /// when it failed for a reason that passes (<see cref="TransientRetry.IsTransient"/>). The work must be safe to run
    /// again: one transaction, or statements that dedupe.
    /// </summary>
    Task<T> RunAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken);
}

internal sealed class PostgresConnectionFactory : IDbConnectionFactory, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TransientRetry _retry;
    private readonly BackgroundShare _background;
    private readonly Func<CancellationToken, ValueTask<DbConnection>> _open;

    static PostgresConnectionFactory() => TypeHandlers.EnsureRegistered();

    public PostgresConnectionFactory(NpgsqlDataSource dataSource, TransientRetry retry, BackgroundShare background, StorePoolGate pool)
    {
        _dataSource = dataSource;
        _retry = retry;
        _background = background;
        // Background work first waits for its share, then, like a request, for one of the pool's connections.
        _open = cancellationToken => pool.OpenAsync(async ct => await _dataSource.OpenConnectionAsync(ct), cancellationToken);
    }

    public DatabaseProvider Provider => DatabaseProvider.Postgres;

    public Task<T> RunAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken) =>
        _retry.RunAsync(this, work, cancellationToken);

    public ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        _background.OpenAsync(_open, cancellationToken);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();
}

internal sealed class SqliteConnectionFactory : IDbConnectionFactory
{
    // Concurrent writers wait for the lock (up to 5 s) instead of failing with SQLITE_BUSY.
    private const string ConnectionSetupSql = "PRAGMA busy_timeout = 5000;";

    // WAL lets readers carry on while one connection writes; the mode is stored in the file, so once is enough.
    private const string FirstConnectionSetupSql = ConnectionSetupSql + " PRAGMA journal_mode = WAL;";

    private readonly string _connectionString;
    private readonly TransientRetry _retry;
    private volatile bool _walEnabled;

    static SqliteConnectionFactory() => TypeHandlers.EnsureRegistered();

    public SqliteConnectionFactory(string connectionString, TransientRetry retry)
    {
        _connectionString = new SqliteConnectionStringBuilder(connectionString) { ForeignKeys = true }.ToString();
        _retry = retry;
    }

    public DatabaseProvider Provider => DatabaseProvider.Sqlite;

    public Task<T> RunAsync<T>(Func<DbConnection, Task<T>> work, CancellationToken cancellationToken) =>
        _retry.RunAsync(this, work, cancellationToken);

    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = _walEnabled ? ConnectionSetupSql : FirstConnectionSetupSql;
            await command.ExecuteNonQueryAsync(cancellationToken);
            _walEnabled = true;
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

internal static class Transactions
{
    /// <summary>
    /// A transaction that will write. On SQLite it takes the write lock at BEGIN (BEGIN IMMEDIATE), so a
    /// second writer waits on busy_timeout rather than failing when a read transaction tries to upgrade.
    /// </summary>
    public static async ValueTask<DbTransaction> BeginWriteAsync(this DbConnection connection, CancellationToken cancellationToken) =>
        connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: false)
            : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    /// <summary>A read-only transaction whose statements all see one snapshot.</summary>
    public static async ValueTask<DbTransaction> BeginSnapshotAsync(this DbConnection connection, CancellationToken cancellationToken) =>
        connection is SqliteConnection sqlite
            ? sqlite.BeginTransaction(deferred: true)
            : await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
}
