using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task MigrateAsync_AlreadyMigrated_AppliesNothing()
    {
        var migrator = Services.GetRequiredService<DatabaseMigrator>();
        var known = DatabaseMigrator.For(Database.Provider).Select(m => m.Version).ToList();

        var applied = await migrator.MigrateAsync(None);
        var appliedAgain = await migrator.MigrateAsync(None);

        Assert.Equal((0, 0), (applied, appliedAgain));
        Assert.NotEmpty(known);
        Assert.Equal(known, await migrator.GetAppliedVersionsAsync(None));
    }

    [Fact]
    public async Task MigrateAsync_TwoInstancesAtOnceOnEmptyDatabase_ApplyEachMigrationOnce()
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var first = CreateServices(database);
            await using var second = CreateServices(database);
            Assert.Empty(await first.GetRequiredService<DatabaseMigrator>().GetAppliedVersionsAsync(None));

            var applied = await Task.WhenAll(
                Task.Run(() => first.GetRequiredService<DatabaseMigrator>().MigrateAsync(None)),
                Task.Run(() => second.GetRequiredService<DatabaseMigrator>().MigrateAsync(None)));

            var known = DatabaseMigrator.For(database.Provider);
            Assert.Equal(known.Count, applied.Sum());
            Assert.Equal(known.Select(m => m.Version), await second.GetRequiredService<DatabaseMigrator>().GetAppliedVersionsAsync(None));
            var store = second.GetRequiredService<Core.Application.IIncidentStore>();
            Assert.Equal(1, (await store.DeclareAsync(n => NewIncident(n, "After migration"), None)).Number.Value);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>Brings an empty database to <paramref name="version"/> only, as an older build would have left it.</summary>
    protected async Task MigrateToAsync(ServiceProvider services, int version)
    {
        var database = services.GetRequiredService<IDbConnectionFactory>();
        await using var connection = await database.OpenConnectionAsync(None);
        await connection.ExecuteAsync(database.Provider == DatabaseProvider.Postgres
            ? "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
            : "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT");
        foreach (var migration in DatabaseMigrator.For(database.Provider).Where(m => m.Version <= version))
        {
            await connection.ExecuteAsync(migration.Sql);
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@Version, @Now)", new { migration.Version, Now });
        }
    }
}
