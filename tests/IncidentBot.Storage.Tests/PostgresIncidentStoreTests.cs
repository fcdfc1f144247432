using System.Collections.Concurrent;
using System.Diagnostics;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
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

    /// <summary>
    /// A note as the command dispatcher runs it: the permission check's read (one statement, its own snapshot) and the
    /// append (one statement, no read-back: the reply shows the incident as the check read it).
    /// </summary>
    [Fact]
    public async Task AddNote_AfterThePermissionRead_TwoStatementsInTwoRoundTrips()
    {
        var declared = await DeclareAsync(commander: Bob, warRoom: Room1);
        // A note is timeline-only (decision 12): nothing for the outbox.
        var incidents = new IncidentService(Store, Clock, Options.Create(new UpdateCadence()), Signal, NullLogger<IncidentService>.Instance);
        var commands = new PostgresCommandCount(((PostgresTestDatabase)Database).DatabaseName);
        IncidentResult result;
        using (commands)
        {
            var subject = await incidents.GetAsync(declared.Number, None);
            result = await incidents.AddNoteAsync(subject, "Rolled back deploy 4411", AsAlice, None);
        }

        Assert.True(commands.Commands.Count == 2, string.Join(" | ", commands.Commands));
        Assert.Equal(2, commands.Statements);
        Assert.Equal(declared.Number, result.Incident.Number);
        Assert.True(Bob.IsSameAs(result.Incident.RoleHolder(IncidentRole.Commander)));
        Assert.Equal([Room1], result.Incident.WarRooms);
        Assert.Contains(await Store.GetTimelineAsync(declared.Id, None), e => e.Text == "Rolled back deploy 4411");
    }

    /// <summary>
    /// A batch of the writer made only of statements (captures, notes, pins) is one command: one round trip, one commit.
    /// </summary>
    [Fact]
    public async Task GroupCommit_CapturesNotesAndPinsQueuedTogether_OneCommand()
    {
        var declared = await DeclareAsync(warRoom: Room1);
        var writer = Services.GetRequiredService<GroupCommitWriter>();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = writer.WriteAsync(async (_, _, _) => { running.TrySetResult(); await release.Task; return true; }, None);
        await running.Task;

        var commands = new PostgresCommandCount(((PostgresTestDatabase)Database).DatabaseName);
        Task[] writes;
        using (commands)
        {
            writes =
            [
                .. Enumerable.Range(1, 20).Select(n => Store.CaptureMessageAsync(ChatMessage(new("slack", Room1.Channel, $"1741944413.{n:D6}"), $"m{n}", Start), None)),
                Store.AppendAsync(declared.Number, [new(Start, TimelineKind.Note, Alice, "a note")], [], None),
                Store.SetPinnedAsync(new("slack", Room1.Channel, "1741944413.000001"), true, None),
            ];
            release.SetResult();
            await gate;
            await Task.WhenAll(writes);
        }

        Assert.True(commands.Commands.Count == 1, string.Join(" | ", commands.Commands));
        var timeline = await Store.GetTimelineAsync(declared.Id, None);
        Assert.Equal(20, timeline.Count(e => e.Kind == TimelineKind.Message));
        Assert.Single(timeline, e => e.Kind == TimelineKind.Note && e.Text == "a note");
        Assert.Single(timeline, e => e.Pinned);
    }

    /// <summary>
    /// A year of a busy bot leaves millions of delivered rows behind; a claim (fan-out, then the claim proper) must read
    /// only the pages of what is still pending, through the partial indexes, however long that history grows.
    /// </summary>
    [Fact]
    public async Task ClaimAsync_LargeDeliveredHistory_ReadsAFewPagesNotTheHistory()
    {
        var incident = await DeclareAsync();
        await ExecuteAsync("""
            INSERT INTO outbox (incident_id, event_type, payload, created_at, available_at, delivered_at)
            SELECT @Id, 'note_added', '{"type":"note_added","text":"old"}', @Now, @Now, @Now FROM generate_series(1, 100000);
            INSERT INTO outbox_deliveries (message_id, handler, incident_id, not_before, done_at)
            SELECT id, h, incident_id, @Now, @Now FROM outbox, unnest(ARRAY['slack-war-rooms', 'reminders']) AS h WHERE delivered_at IS NOT NULL;
            ANALYZE outbox;
            ANALYZE outbox_deliveries;
            """, new { incident.Id, Now });
        var historyPages = await QueryScalarAsync<long>("SELECT relpages FROM pg_class WHERE relname = 'outbox_deliveries'");

        var fanOut = await PagesReadAsync(SqlOutbox.FanOutPostgresSql, new
        {
            Handlers = new[] { "slack-war-rooms", "reminders" },
            Types = new[] { "declared", "declared" },
            Known = new[] { "declared", "note_added" },
            Max = 64,
            Now,
        });
        var claim = await PagesReadAsync(SqlOutbox.ClaimPostgresSql, new
        {
            SlotHandlers = new[] { "slack-war-rooms", "reminders" },
            SlotSizes = new[] { 64, 64 },
            Now,
            LeaseUntil = Now + Lease,
            Instance = "test",
            StaleBefore = Now - Lease,
        });

        Assert.True(historyPages > 500, $"the history should span many pages ({historyPages})");
        Assert.True(fanOut < 100, $"the fan-out read {fanOut} pages");
        Assert.True(claim < 100, $"the claim read {claim} pages");
    }

    [Fact]
    public async Task ClaimAsync_ThreeHandlers_OneCommandWithOneClaimStatementAndNoTransaction()
    {
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is failing", Severity.Sev1) { Commander = Bob }, AsAlice, None);
        await Outbox.CheckInAsync(starting: false, None);
        var all = new Dictionary<string, int> { [SlackHandler] = 10, [TeamsHandler] = 10, [ReminderHandler] = 10 };

        var (claimed, commands) = await CommandsOfAsync(() => Outbox.ClaimAsync(all, Lease, None));

        Assert.Equal(3, claimed.Select(d => d.Handler).Distinct().Count());
        var command = Assert.Single(commands);
        Assert.Equal(1, Occurrences(command, "UPDATE outbox_deliveries"));
        Assert.DoesNotContain("BEGIN", command, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task ClaimAsync_NothingStoredSince_ClaimsWithoutFanningOut()
    {
        await DeclareAsync();
        await Outbox.CheckInAsync(starting: false, None);
        var slack = new Dictionary<string, int> { [SlackHandler] = 10 };
        await Outbox.ClaimAsync(slack, (_, _) => true, Lease, fanOut: true, None);
        var unseen = await DeclareAsync("Stored without a wake-up");

        var (claimed, commands) = await CommandsOfAsync(() => Outbox.ClaimAsync(slack, (_, _) => true, Lease, fanOut: false, None));

        Assert.Empty(claimed);
        Assert.DoesNotContain("INSERT INTO outbox_deliveries", Assert.Single(commands), StringComparison.Ordinal);
        var next = await Outbox.ClaimAsync(slack, (_, _) => true, Lease, fanOut: true, None);
        Assert.Equal(unseen.Id, Assert.Single(next).Event.IncidentId);
    }

    [Fact]
    public async Task ClaimAsync_FanOutLeftABacklog_NextClaimFansOutUnasked()
    {
        foreach (var title in new[] { "First", "Second", "Third" })
        {
            await DeclareAsync(title);
        }

        await Outbox.CheckInAsync(starting: false, None);
        var one = new Dictionary<string, int> { [SlackHandler] = 1 };
        await Outbox.ClaimAsync(one, (_, _) => true, Lease, fanOut: true, None);
        var pendingAfterFirst = await QueryScalarAsync<long>("SELECT count(*) FROM outbox WHERE delivered_at IS NULL");

        await Outbox.ClaimAsync(one, (_, _) => true, Lease, fanOut: false, None);

        Assert.Equal(pendingAfterFirst - 1, await QueryScalarAsync<long>("SELECT count(*) FROM outbox WHERE delivered_at IS NULL"));
    }

    private static int Occurrences(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    /// <summary>The text of every database command <paramref name="action"/> sends (Npgsql's tracing, this test's own only).</summary>
    private static async Task<(T Result, List<string> Commands)> CommandsOfAsync<T>(Func<Task<T>> action)
    {
        using var source = new ActivitySource("IncidentBot.Storage.Tests.Commands");
        var commands = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Npgsql" || s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivityTraceId? trace = null;
        listener.ActivityStopped = activity =>
        {
            if (activity.Source.Name == "Npgsql" && activity.TraceId == trace)
            {
                commands.Enqueue(activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName);
            }
        };
        ActivitySource.AddActivityListener(listener);
        using var parent = source.StartActivity("commands")!;
        trace = parent.TraceId;
        var result = await action();
        return (result, [.. commands]);
    }

    /// <summary>Shared buffers the statement touched (hit or read), run for real inside a transaction that is rolled back.</summary>
    private async Task<long> PagesReadAsync(string sql, object parameters)
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var plan = await connection.ExecuteScalarAsync<string>(new CommandDefinition("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, parameters, transaction));
        await transaction.RollbackAsync();
        using var json = System.Text.Json.JsonDocument.Parse(plan!);
        var root = json.RootElement[0].GetProperty("Plan");
        return root.GetProperty("Shared Hit Blocks").GetInt64() + root.GetProperty("Shared Read Blocks").GetInt64();
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

public sealed class OutboxListenerTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();
    private readonly OutboxSignal _signal = new();
    private ServiceProvider? _otherInstance;

    public Task InitializeAsync() => _database.InitializeAsync();

    public async Task DisposeAsync()
    {
        if (_otherInstance is not null)
        {
            await _otherInstance.DisposeAsync();
        }

        await _database.DisposeAsync();
        _signal.Dispose();
    }

    [Fact]
    public async Task EventsStoredByAnotherInstance_WakeThisOne_AlsoAfterItsListeningSessionIsCut()
    {
        using var listener = new OutboxListener(
            Options.Create(new DatabaseOptions { Provider = "Postgres", ConnectionString = _database.ConnectionString }),
            _signal,
            TimeProvider.System,
            NullLogger<OutboxListener>.Instance);
        _otherInstance = _database.CreateServices(_ => { });
        var incidents = new IncidentService(
            _otherInstance.GetRequiredService<IIncidentStore>(), TimeProvider.System, Options.Create(new UpdateCadence()), new OutboxSignal(), NullLogger<IncidentService>.Instance);
        var actor = new Actor(new Person("slack", "U1", "Ann"), null);

        await listener.StartAsync(default);
        await WaitUntilPushedAsync();
        var declared = await incidents.DeclareAsync(new DeclareRequest("Checkout is failing", Severity.Sev3), actor, default);
        var wokenByDeclare = await _signal.WaitAsync(TimeSpan.FromSeconds(10), default);

        await using (var admin = new NpgsqlConnection(_database.ConnectionString))
        {
            await admin.OpenAsync();
            await using var cut = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = @Name", admin);
            cut.Parameters.AddWithValue("Name", OutboxListener.ApplicationName);
            await cut.ExecuteNonQueryAsync();
        }

        await WaitUntilAsync(() => !_signal.PushedAcrossInstances, "the cut session to be noticed");
        await WaitUntilPushedAsync();
        await incidents.PostUpdateAsync(declared.Incident.Number, "Rolled back", actor, default);
        var wokenByUpdate = await _signal.WaitAsync(TimeSpan.FromSeconds(10), default);
        await listener.StopAsync(default);

        Assert.True(wokenByDeclare, "the declare of another instance did not wake this one");
        Assert.True(wokenByUpdate, "after reconnecting, another instance's status update did not wake this one");
        Assert.False(_signal.PushedAcrossInstances);
    }

    private async Task WaitUntilPushedAsync()
    {
        await WaitUntilAsync(() => _signal.PushedAcrossInstances, "the listener to listen");
        // The wake-up it gives when it starts listening is not what the test is about.
        await _signal.WaitAsync(TimeSpan.FromSeconds(1), default);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
