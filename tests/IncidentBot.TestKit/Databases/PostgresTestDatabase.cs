using IncidentBot.Storage;
using Npgsql;

namespace IncidentBot.TestKit.Databases;

/// <summary>
/// A PostgreSQL database of its own, with a random name, on the server named by the
/// <c>INCIDENTBOT_TEST_POSTGRES</c> environment variable; dropped on dispose.
/// </summary>
public sealed class PostgresTestDatabase : TestDatabase
{
    public const string ServerVariable = "INCIDENTBOT_TEST_POSTGRES";

    private string? _name;

    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    /// <summary>The name of the throwaway database.</summary>
    public string DatabaseName => _name ?? throw new InvalidOperationException("The database is not initialized.");

    /// <summary>The server to create test databases on. Missing is an error, never a reason to skip.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{ServerVariable} is not set, so the PostgreSQL store tests have no server. Run ./scripts/test.sh, which starts a "
                + $"throwaway PostgreSQL server and sets it, or point it at one yourself: export {ServerVariable}="
                + "\"Host=127.0.0.1;Port=54329;Username=postgres;Password=...;Database=postgres\".");

    protected override async Task<string> CreateAsync()
    {
        var server = ServerConnectionString;
        _name = $"incidentbot_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{_name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(server) { Database = _name }.ToString();
    }

    protected override async Task DropAsync(string connectionString)
    {
        await using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        // FORCE ends connections a test left open (a service provider not disposed, a hung query).
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
