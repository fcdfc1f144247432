using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task MigrateAsync_AlreadyMigrated_AppliesNothing()
    {
        var migrator = Services.GetRequiredService<DatabaseMigrator>();
        var known = migrator.Known.Select(m => m.Id).ToList();

        var applied = await migrator.MigrateAsync(None);
        var appliedAgain = await migrator.MigrateAsync(None);

        Assert.Equal((0, 0), (applied, appliedAgain));
        Assert.NotEmpty(known);
        Assert.Equal(known.Order(), (await migrator.GetAppliedAsync(None)).Order());
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
            Assert.Empty(await first.GetRequiredService<DatabaseMigrator>().GetAppliedAsync(None));

            var applied = await Task.WhenAll(
                Task.Run(() => first.GetRequiredService<DatabaseMigrator>().MigrateAsync(None)),
                Task.Run(() => second.GetRequiredService<DatabaseMigrator>().MigrateAsync(None)));

            var known = second.GetRequiredService<DatabaseMigrator>().Known;
            Assert.Equal(known.Count, applied.Sum());
            Assert.Equal(known.Select(m => m.Id).Order(), (await second.GetRequiredService<DatabaseMigrator>().GetAppliedAsync(None)).Order());
            var store = second.GetRequiredService<Core.Application.IIncidentStore>();
            Assert.Equal(1, (await store.DeclareAsync(n => NewIncident(n, "After migration"), None)).Number.Value);
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(10)] // the last build before table sets
    [InlineData(9)] // the build this work started from
    [InlineData(4)] // an older one: Slack, paging and Teams tables, no lanes yet
    [InlineData(1)] // one from before any front-end table
    public async Task MigrateAsync_DatabaseOfABuildBeforeTableSets_RunsNothingTwiceAndEndsWithTheFreshSchema(int version)
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var services = CreateServices(database);
            await MigrateToAsync(services, version);
            var migrator = services.GetRequiredService<DatabaseMigrator>();

            // A script run a second time fails (CREATE TABLE, ADD COLUMN of what exists), so a count that adds up means none was.
            var applied = await migrator.MigrateAsync(None);

            Assert.Equal(StillToRun(migrator, version), applied);
            Assert.Equal(0, await migrator.MigrateAsync(None));
            Assert.Empty(migrator.Known.Select(m => m.Id).Except(await migrator.GetAppliedAsync(None)));
            Assert.Equal(await SchemaAsync(Services), await SchemaAsync(services));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("IncidentBot.Slack.Outbound.SlackIncidentEventHandler", "slack")]
    [InlineData("IncidentBot.Teams.Events.TeamsWarRoomHandler", "teams")]
    [InlineData("IncidentBot.Scheduling.ReminderEventHandler", "reminders")]
    public async Task MigrateAsync_EventPendingInALaneOfTheOldTypeName_DeliveredToTheHandlerOfTheStableName(string oldName, string name)
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var services = CreateServices(database);
            await MigrateToAsync(services, 10);
            var store = services.GetRequiredService<IIncidentStore>();
            var outbox = services.GetRequiredService<IOutbox>();
            // This build's store writes is_private (storage 0013): the column is there only while the old build declares.
            await ExecuteAsync(services, postgres: "ALTER TABLE incidents ADD COLUMN is_private boolean NOT NULL DEFAULT FALSE", sqlite: "ALTER TABLE incidents ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0");
            var declared = await store.DeclareAsync(n => NewIncident(n, "Declared before the upgrade"), None);
            await ExecuteAsync(services, postgres: "ALTER TABLE incidents DROP COLUMN is_private", sqlite: "ALTER TABLE incidents DROP COLUMN is_private");
            // The old build fanned the event out into a lane of the handler's type name, failed once and was to retry it.
            await outbox.CheckInAsync(starting: true, None);
            var claimed = Assert.Single(await outbox.ClaimAsync(new Dictionary<string, int> { [oldName] = 1 }, Lease, None));
            await outbox.RetryLaterAsync(claimed.MessageId, oldName, Now, "Slack answered 503", None);
            Assert.Equal(1, await CountAsync(services, "SELECT count(*) FROM outbox_deliveries WHERE handler = @Name AND done_at IS NULL", oldName));

            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(None);
            var handler = new StableNameHandler(name);
            using var signal = new OutboxSignal();
            var processor = new OutboxProcessor(
                outbox, [handler], signal, new IncidentService(store, Clock, Options.Create(new UpdateCadence()), signal, NullLogger<IncidentService>.Instance),
                Clock, Options.Create(new OutboxOptions()), NullLogger<OutboxProcessor>.Instance);
            await processor.ProcessDueAsync(None);

            Assert.Equal(declared.Id, Assert.IsType<IncidentDeclared>(Assert.Single(handler.Received)).IncidentId);
            Assert.Equal(0, await CountAsync(services, "SELECT count(*) FROM outbox_deliveries WHERE handler = @Name", oldName));
            Assert.Equal(0, await CountAsync(services, "SELECT count(*) FROM outbox_deliveries WHERE handler = @Name AND done_at IS NULL", name));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task MigrateAsync_SlackAndTeamsDeliveriesOfAnEarlierBuild_FoundInTheOneStoreUnderTheOneKey()
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var services = CreateServices(database);
            await MigrateToAsync(services, 10);
            var declared = new IncidentDeclared("Checkout is down", Severity.Sev2, []) { IncidentId = 7, OccurredAt = Start };
            var update = new UpdatePosted("Rolled back") { IncidentId = 7, OccurredAt = Start.AddMinutes(1) };
            var pinned = new MessagePinned(new MessageRef("slack", "C0WAR", "1700000000.000100"), true) { IncidentId = 7, OccurredAt = Start.AddMinutes(2) };
            var resolved = new IncidentResolved("Fixed") { IncidentId = 7, OccurredAt = Start.AddMinutes(3) };
            await using (var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None))
            {
                // The keys as the two adapters of earlier builds wrote them.
                foreach (var key in new[]
                {
                    $"UpdatePosted:7:{update.OccurredAt.UtcTicks}:C0WAR",
                    $"MessagePinned:7:{pinned.OccurredAt.UtcTicks}:C0WAR",
                    $"Archive:IncidentResolved:7:{resolved.OccurredAt.UtcTicks}:C0WAR",
                })
                {
                    await connection.ExecuteAsync("INSERT INTO slack_deliveries (delivery_key, delivered_at) VALUES (@Key, @Now)", new { Key = key, Now });
                }

                foreach (var (key, conversation) in new[]
                {
                    ($"7:UpdatePosted:{update.OccurredAt.UtcTicks}", "19:war@thread.tacv2"),
                    ($"7:ChannelFailed:{declared.OccurredAt.UtcTicks}", "19:ops@thread.tacv2"),
                    ($"7:Archive:{resolved.OccurredAt.UtcTicks}", "19:war@thread.tacv2"),
                })
                {
                    await connection.ExecuteAsync(
                        "INSERT INTO teams_deliveries (delivery_key, conversation_id, delivered_at) VALUES (@Key, @Conversation, @Now)", new { Key = key, Conversation = conversation, Now });
                }
            }

            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(None);

            var deliveries = services.GetRequiredService<IChatDeliveries>();
            var slack = new ChatSpace("slack", "C0WAR");
            var teams = new ChatSpace("teams", "19:war@thread.tacv2");
            Assert.True(await deliveries.WasMadeAsync(slack, DeliveryKey.For(update, DeliveryKey.Announce), None));
            Assert.True(await deliveries.WasMadeAsync(slack, DeliveryKey.For(pinned, DeliveryKey.ConfirmPin), None));
            Assert.True(await deliveries.WasMadeAsync(slack, DeliveryKey.For(resolved, DeliveryKey.Archive), None));
            Assert.True(await deliveries.WasMadeAsync(teams, DeliveryKey.For(update, DeliveryKey.Announce), None));
            Assert.True(await deliveries.WasMadeAsync(new ChatSpace("teams", "19:ops@thread.tacv2"), DeliveryKey.For(declared, DeliveryKey.ReportFailure), None));
            Assert.True(await deliveries.WasMadeAsync(teams, DeliveryKey.For(resolved, DeliveryKey.Archive), None));
            Assert.False(await deliveries.WasMadeAsync(teams, DeliveryKey.For(resolved, DeliveryKey.Announce), None));
            Assert.False(await deliveries.WasMadeAsync(new ChatSpace("slack", "19:war@thread.tacv2"), DeliveryKey.For(update, DeliveryKey.Announce), None));
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task MigrateAsync_ReceiptsOfAnEarlierBuild_FoundInTheOneTableSoRedeliveriesStayIgnored()
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var services = CreateServices(database);
            await MigrateToAsync(services, 10);
            await using (var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None))
            {
                // The receipts as the three front-ends of earlier builds kept them, each in a table of its own.
                await connection.ExecuteAsync("INSERT INTO slack_event_receipts (event_id, received_at) VALUES ('Ev01', @Now)", new { Now });
                await connection.ExecuteAsync(
                    "INSERT INTO teams_activity_receipts (conversation_id, activity_id, received_at) VALUES ('19:war@thread.tacv2', '1001', @Now)", new { Now });
                await connection.ExecuteAsync("INSERT INTO pager_webhook_receipts (pager, event_id, received_at) VALUES ('PagerDuty', 'E1', @Now)", new { Now });
            }

            await services.GetRequiredService<DatabaseMigrator>().MigrateAsync(None);

            var receipts = services.GetRequiredService<InboundReceipts>();
            Assert.False(await receipts.TryRecordAsync(new InboundReceipt("slack-events", "Ev01"), None));
            Assert.False(await receipts.TryRecordAsync(InboundReceipt.Of("teams-activities", "19:war@thread.tacv2", "1001"), None));
            Assert.False(await receipts.TryRecordAsync(InboundReceipt.Of("pager-webhooks", "PagerDuty", "E1"), None));
            Assert.True(await receipts.TryRecordAsync(InboundReceipt.Of("teams-activities", "19:other@thread.tacv2", "1001"), None));
            await using (var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None))
            {
                Assert.Equal(0, await connection.ExecuteScalarAsync<long>(services.GetRequiredService<IDbConnectionFactory>().Provider == DatabaseProvider.Postgres
                    ? "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('slack_event_receipts', 'teams_activity_receipts', 'pager_webhook_receipts')"
                    : "SELECT count(*) FROM sqlite_master WHERE name IN ('slack_event_receipts', 'teams_activity_receipts', 'pager_webhook_receipts')"));
            }
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task InboundReceipts_RecordedTwice_RefusedUntilForgotten_AndOnlyForItsSource()
    {
        var receipts = Services.GetRequiredService<InboundReceipts>();
        var slack = new InboundReceipt("slack-events", "Ev01");

        Assert.False(await receipts.HasAsync(slack, None));
        Assert.True(await receipts.TryRecordAsync(slack, None));
        Assert.False(await receipts.TryRecordAsync(slack, None));
        Assert.True(await receipts.HasAsync(slack, None));
        Assert.True(await receipts.TryRecordAsync(slack with { Source = "pager-webhooks" }, None));

        await receipts.ForgetAsync(slack, None);
        Assert.False(await receipts.HasAsync(slack, None));
        Assert.True(await receipts.HasAsync(slack with { Source = "pager-webhooks" }, None));
    }

    [Fact]
    public async Task ChatDeliveries_RecordedTwice_MadeOnceAndOnlyInThatRoom()
    {
        var deliveries = Services.GetRequiredService<IChatDeliveries>();
        var room = new ChatSpace("teams", "19:c@thread.v2");
        var key = DeliveryKey.For(new UpdateReminderDue(Now, 1, null, null) { IncidentId = 7, OccurredAt = Now }, DeliveryKey.Announce);

        Assert.False(await deliveries.WasMadeAsync(room, key, None));
        await deliveries.RecordAsync(room, key, None);
        await deliveries.RecordAsync(room, key, None);

        Assert.True(await deliveries.WasMadeAsync(room, key, None));
        Assert.False(await deliveries.WasMadeAsync(room with { Channel = "19:d@thread.v2" }, key, None));
        Assert.False(await deliveries.WasMadeAsync(room with { Platform = "slack" }, key, None));
        Assert.Equal($"7:update_reminder_due:{Now.UtcTicks}:announce", key);
    }

    private static async Task ExecuteAsync(ServiceProvider services, string postgres, string sqlite)
    {
        var database = services.GetRequiredService<IDbConnectionFactory>();
        await using var connection = await database.OpenConnectionAsync(None);
        await connection.ExecuteAsync(database.Provider == DatabaseProvider.Postgres ? postgres : sqlite);
    }

    private static async Task<long> CountAsync(ServiceProvider services, string sql, string name)
    {
        await using var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None);
        return await connection.ExecuteScalarAsync<long>(sql, new { Name = name });
    }

    private sealed class StableNameHandler(string name) : IIncidentEventHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<IncidentEvent> _received = new();

        public string Name => name;

        public IReadOnlyList<IncidentEvent> Received => [.. _received];

        public Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
        {
            _received.Enqueue(incidentEvent);
            return Task.CompletedTask;
        }
    }

    /// <summary>Every table, column, index and constraint of the database, as comparable text.</summary>
    private static async Task<IReadOnlyList<string>> SchemaAsync(ServiceProvider services)
    {
        var database = services.GetRequiredService<IDbConnectionFactory>();
        await using var connection = await database.OpenConnectionAsync(None);
        var rows = database.Provider == DatabaseProvider.Postgres
            ? await connection.QueryAsync<string>(PostgresSchemaSql)
            : await connection.QueryAsync<string>(SqliteSchemaSql);
        return rows.ToList();
    }

    // The statements as stored: SQLite keeps each table's CREATE text, rewritten by ALTER TABLE ADD COLUMN.
    private const string SqliteSchemaSql = """
        SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || COALESCE(sql, '')
        FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name
        """;

    private const string PostgresSchemaSql = """
        SELECT 'column ' || table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type
               || ' null=' || is_nullable || ' identity=' || is_identity || ' default=' || COALESCE(column_default, '')
        FROM information_schema.columns WHERE table_schema = current_schema()
        UNION ALL
        SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
        UNION ALL
        SELECT 'constraint ' || c.conrelid::regclass || '.' || c.conname || ': ' || pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()
        ORDER BY 1
        """;

    /// <summary>
    /// Brings an empty database to storage version <paramref name="version"/> only, as a build from before table sets
    /// left it: that build's scripts (Slack, paging and Teams tables among them), recorded by version alone.
    /// </summary>
    protected async Task MigrateToAsync(ServiceProvider services, int version)
    {
        var database = services.GetRequiredService<IDbConnectionFactory>();
        await using var connection = await database.OpenConnectionAsync(None);
        await connection.ExecuteAsync(database.Provider == DatabaseProvider.Postgres
            ? "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
            : "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT");
        foreach (var (number, sql) in LegacyMigrations(database.Provider).Where(m => m.Version <= version))
        {
            await connection.ExecuteAsync(sql);
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@Version, @Now)", new { Version = number, Now });
        }
    }

    /// <summary>How many scripts the migrator runs (not adopts) on a database <see cref="MigrateToAsync"/> left at <paramref name="version"/>.</summary>
    protected static int StillToRun(DatabaseMigrator migrator, int version) =>
        migrator.Known.Count(m =>
            !(m.Id.Source == TableSet.StorageName && m.Id.Version <= version)
            && !m.Adopts.Any(a => a.Source == TableSet.StorageName && a.Version <= version));

    private static IEnumerable<(int Version, string Sql)> LegacyMigrations(DatabaseProvider provider)
    {
        var assembly = typeof(IncidentStoreContract).Assembly;
        var prefix = $"LegacyMigrations/{provider}/";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (int.Parse(name.AsSpan(prefix.Length, 4), System.Globalization.CultureInfo.InvariantCulture), reader.ReadToEnd());
        }
    }
}
