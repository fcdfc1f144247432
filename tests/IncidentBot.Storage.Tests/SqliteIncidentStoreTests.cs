using System.Text.RegularExpressions;
using IncidentBot.TestKit.Databases;
using Microsoft.Data.Sqlite;

namespace IncidentBot.Storage.Tests;

public sealed partial class SqliteIncidentStoreTests : IncidentStoreContract
{
    protected override TestDatabase CreateDatabase(bool migrate) => new SqliteTestDatabase { Migrate = migrate };

    [Fact]
    public async Task OpenConnectionAsync_Sqlite_IsWalWithForeignKeysAndBusyTimeout()
    {
        await using var connection = await OpenAsync();

        Assert.IsType<SqliteConnection>(connection);
        Assert.Equal("wal", await QueryScalarAsync<string>("PRAGMA journal_mode"));
        Assert.Equal(1L, await QueryScalarAsync<long>("PRAGMA foreign_keys"));
        Assert.Equal(5000L, await QueryScalarAsync<long>("PRAGMA busy_timeout"));
    }

    [Fact]
    public async Task DeclareAsync_SqliteTimeColumns_AreFixedWidthUtcText()
    {
        await DeclareAsync();

        var declaredAt = await QueryScalarAsync<string>("SELECT declared_at FROM incidents");

        Assert.Matches(StoredTimePattern(), declaredAt);
        Assert.Equal("2025-03-14T09:26:53.535897Z", declaredAt);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")]
    private static partial Regex StoredTimePattern();
}
