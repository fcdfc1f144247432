using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;

namespace IncidentBot.FaultTests.Harness;

/// <summary>A fresh database on a test's own server, left empty: the bots migrate it. Goes with its server.</summary>
public sealed class ServerDatabase(RestartablePostgres server) : TestDatabase
{
    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    protected override Task<string> CreateAsync() => server.CreateDatabaseAsync();

    protected override Task DropAsync(string connectionString) => Task.CompletedTask;
}
