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
}
