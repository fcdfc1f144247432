using IncidentBot.Storage;
using Microsoft.Data.Sqlite;

namespace IncidentBot.TestKit.Databases;

/// <summary>A SQLite database in a temporary file of its own.</summary>
public sealed class SqliteTestDatabase : TestDatabase
{
    private string? _path;

    public override DatabaseProvider Provider => DatabaseProvider.Sqlite;

    /// <summary>The database file.</summary>
    public string FilePath => _path ?? throw new InvalidOperationException("The database is not initialized.");

    protected override Task<string> CreateAsync()
    {
        _path = Path.Combine(Path.GetTempPath(), $"incidentbot-test-{Guid.NewGuid():N}.db");
        return Task.FromResult(new SqliteConnectionStringBuilder { DataSource = _path }.ToString());
    }

    protected override Task DropAsync(string connectionString)
    {
        // Pooled connections keep the file open; they have to go before the file can.
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { ForeignKeys = true }.ToString()))
        {
            SqliteConnection.ClearPool(connection);
        }

        using (var connection = new SqliteConnection(connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        foreach (var suffix in new[] { "", "-wal", "-shm", "-journal" })
        {
            File.Delete(FilePath + suffix);
        }

        return Task.CompletedTask;
    }
}
