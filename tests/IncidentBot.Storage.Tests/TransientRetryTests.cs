using Dapper;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace IncidentBot.Storage.Tests;

/// <summary>Which failures the stores try again, and that a PostgreSQL session cut under the store does not fail a call.</summary>
public sealed class TransientRetryTests
{
    [Theory]
    [InlineData("57P01", true)] // admin_shutdown: pg_terminate_backend, a fast shutdown
    [InlineData("57P03", true)] // cannot_connect_now: starting up
    [InlineData("08006", true)] // connection_failure
    [InlineData("40001", true)] // serialization_failure
    [InlineData("23505", false)] // unique_violation
    [InlineData("25006", false)] // read_only_sql_transaction: a standby
    [InlineData("42P01", false)] // undefined_table
    public void IsTransient_PostgresErrors_OnlyThoseThatPass(string sqlState, bool transient) =>
        Assert.Equal(transient, TransientRetry.IsTransient(new PostgresException("message", "FATAL", "FATAL", sqlState)));

    [Theory]
    [InlineData(5, true)] // SQLITE_BUSY
    [InlineData(6, true)] // SQLITE_LOCKED
    [InlineData(517, true)] // SQLITE_BUSY_SNAPSHOT
    [InlineData(8, false)] // SQLITE_READONLY
    [InlineData(13, false)] // SQLITE_FULL
    [InlineData(19, false)] // SQLITE_CONSTRAINT
    public void IsTransient_SqliteErrors_BusyAndLockedOnly(int code, bool transient) =>
        Assert.Equal(transient, TransientRetry.IsTransient(new SqliteException("message", code)));

    [Fact]
    public void IsTransient_NetworkErrorButStatementTimeout_NotRetried()
    {
        Assert.True(TransientRetry.IsTransient(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())));
        Assert.False(TransientRetry.IsTransient(new NpgsqlException("Exception while reading from stream", new TimeoutException())));
        Assert.False(TransientRetry.IsTransient(new InvalidOperationException()));
    }

    [Fact]
    public async Task Store_PooledSessionsTerminated_NextCallsSucceed()
    {
        var database = new PostgresTestDatabase();
        await database.InitializeAsync();
        try
        {
            await using var services = database.CreateServices();
            var store = services.GetRequiredService<Core.Application.IIncidentStore>();
            var factory = services.GetRequiredService<IDbConnectionFactory>();
            // Several pooled connections, all of which the server is about to end.
            var open = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => factory.OpenConnectionAsync(default).AsTask()));
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }

            await using (var admin = new NpgsqlConnection(PostgresTestDatabase.ServerConnectionString))
            {
                await admin.OpenAsync();
                var ended = await admin.ExecuteScalarAsync<long>(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @Name AND pid <> pg_backend_pid()",
                    new { Name = database.DatabaseName });
                Assert.True(ended >= 4, $"only {ended} sessions ended");
            }

            var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.GetAsync(new IncidentNumber(1), default)));

            Assert.All(results, Assert.Null);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }
}
