using IncidentBot.TestKit.Databases;
using Npgsql;

namespace IncidentBot.Storage.Tests;

public sealed class PostgresIncidentStoreTests : IncidentStoreContract
{
    protected override TestDatabase CreateDatabase(bool migrate) => new PostgresTestDatabase { Migrate = migrate };

    [Fact]
    public async Task OpenConnectionAsync_PostgresFixture_IsPostgreSqlOnTheThrowawayDatabase()
    {
        await using var connection = await OpenAsync();

        Assert.IsType<NpgsqlConnection>(connection);
        Assert.StartsWith("PostgreSQL ", await QueryScalarAsync<string>("SELECT version()"));
        Assert.Equal(((PostgresTestDatabase)Database).DatabaseName, await QueryScalarAsync<string>("SELECT current_database()"));
    }

    [Fact]
    public async Task MigrateAsync_PostgresSchema_UsesTimestamptzAndJsonb()
    {
        const string ColumnType = "SELECT data_type FROM information_schema.columns WHERE table_name = @Table AND column_name = @Column";

        Assert.Equal("timestamp with time zone", await QueryScalarAsync<string>(ColumnType, new { Table = "incidents", Column = "declared_at" }));
        Assert.Equal("timestamp with time zone", await QueryScalarAsync<string>(ColumnType, new { Table = "outbox", Column = "locked_until" }));
        Assert.Equal("jsonb", await QueryScalarAsync<string>(ColumnType, new { Table = "outbox", Column = "payload" }));
        Assert.Equal("timestamp with time zone", await QueryScalarAsync<string>(ColumnType, new { Table = "outbox_deliveries", Column = "lease_until" }));
    }
}
