using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core;
using IncidentBot.Core.Telemetry;
using IncidentBot.Storage;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Tests;

/// <summary>
/// The outbox processor on the real store (run once on SQLite and once on PostgreSQL) with handlers that fail,
/// stall or succeed on cue: each handler's lanes are independent of the others'.
/// </summary>
public abstract class OutboxProcessorTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private static readonly Person Ann = new("chat", "U-ANN", "Ann");
    private static readonly Person Bo = new("chat", "U-BO", "Bo");
    private static readonly Actor AsAnn = new(Ann, new ChatSpace("chat", "C-GENERAL"));
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly TDatabase _database = new();
    private readonly OutboxSignal _signal = new();
    private readonly List<OutboxProcessor> _processors = [];
    private ServiceProvider? _services;

    private ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 20, 23, 50, 0, TimeSpan.Zero));

    private OutboxOptions Settings { get; } = new() { PollInterval = TimeSpan.FromMilliseconds(20), Lease = TimeSpan.FromMinutes(1), MaxAttempts = 12 };

    private IncidentService Incidents { get; set; } = null!;

    private LaneHandler Slack { get; } = new("slack");

    private LaneHandler Teams { get; } = new("teams");

    private LaneHandler Reminders { get; } = new("reminders");

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _services = _database.CreateServices(b => b.Services.AddSingleton<TimeProvider>(Clock));
        Incidents = new IncidentService(
            _services.GetRequiredService<IIncidentStore>(), Clock, Options.Create(new UpdateCadence()), _signal, NullLogger<IncidentService>.Instance);
    }

    public async Task DisposeAsync()
    {
        foreach (var processor in _processors)
        {
            await processor.StopAsync(CancellationToken.None);
            processor.Dispose();
        }

        await _services!.DisposeAsync();
        await _database.DisposeAsync();
        _signal.Dispose();
    }

    private OutboxProcessor Processor(params IIncidentEventHandler[] handlers)
    {
        var processor = new OutboxProcessor(
            _services!.GetRequiredService<IOutbox>(), handlers, _signal, Incidents, Clock, Options.Create(Settings), NullLogger<OutboxProcessor>.Instance);
        _processors.Add(processor);
        return processor;
    }

    /// <summary>Declares an incident with a commander and posts a status update: three events, in this order.</summary>
    private async Task<Incident> DeclareWithUpdateAsync(string title = "Checkout is down")
    {
        var incident = (await Incidents.DeclareAsync(new DeclareRequest(title, Severity.Sev1) { Commander = Bo }, AsAnn, default)).Incident;
        await Incidents.PostUpdateAsync(incident.Number, "Rolled back the deploy", AsAnn, default);
        return incident;
    }

    private static readonly Type[] ThreeEvents = [typeof(IncidentDeclared), typeof(RoleAssigned), typeof(UpdatePosted)];

    /// <summary>Processes what is due, then moves the clock past any backoff, <paramref name="rounds"/> times.</summary>
    private async Task RunRoundsAsync(OutboxProcessor processor, int rounds)
    {
        for (var i = 0; i < rounds; i++)
        {
            await processor.ProcessDueAsync(default);
            Clock.Advance(TimeSpan.FromMinutes(10));
        }
    }

    private async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Incident incident) =>
        await _services!.GetRequiredService<IIncidentStore>().GetTimelineAsync(incident.Id, default);

    private async Task<T> QueryScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await _services!.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
        return (await connection.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    private async Task<IEnumerable<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await _services!.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
        return await connection.QueryAsync<T>(sql, parameters);
    }

    [Fact]
    public async Task ProcessDue_OneHandlerKeepsFailing_OthersGetEveryEventOnceInOrder()
    {
        Slack.Behaviour = (_, _) => throw new HttpRequestException("Slack answered 503");
        var processor = Processor(Slack, Teams, Reminders);
        await DeclareWithUpdateAsync();

        await RunRoundsAsync(processor, rounds: 6);

        Assert.Equal(ThreeEvents, Teams.Received.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Reminders.Received.Select(e => e.GetType()));
        // Retried on its own lane, six times, and never handed the later events out of order.
        Assert.Equal(6, Slack.Received.Count);
        Assert.All(Slack.Received, e => Assert.IsType<IncidentDeclared>(e));
        Assert.Equal(
            "HttpRequestException: Slack answered 503",
            await QueryScalarAsync<string>("SELECT error FROM outbox_deliveries WHERE handler = 'slack' AND attempts > 0"));
        Assert.Equal(6, await QueryScalarAsync<int>("SELECT attempts FROM outbox_deliveries WHERE handler = 'slack' AND attempts > 0"));
    }

    [Fact]
    public async Task ProcessDue_HandlerDoesNotReceiveUpdates_NeverSeesThemOthersDo()
    {
        Teams.Ignores = new HashSet<Type> { typeof(UpdatePosted) };
        var processor = Processor(Slack, Teams);
        var incident = await DeclareWithUpdateAsync();

        await RunRoundsAsync(processor, rounds: 3);

        Assert.Equal(ThreeEvents, Slack.Received.Select(e => e.GetType()));
        Assert.Equal([typeof(IncidentDeclared), typeof(RoleAssigned)], Teams.Received.Select(e => e.GetType()));
        Assert.Equal(0L, await QueryScalarAsync<long>(
            "SELECT count(*) FROM outbox_deliveries d JOIN outbox o ON o.id = d.message_id WHERE d.handler = 'teams' AND o.event_type = 'update_posted' AND o.incident_id = @Id",
            new { incident.Id }));
    }

    [Fact]
    public async Task ProcessDue_FailingHandlerRecovers_ItsLaneResumesInOrder()
    {
        var failures = 2;
        Slack.Behaviour = (_, _) => Interlocked.Decrement(ref failures) >= 0 ? throw new TimeoutException("Slack timed out") : Task.CompletedTask;
        var processor = Processor(Slack, Teams);
        await DeclareWithUpdateAsync();

        await processor.ProcessDueAsync(default);
        var beforeBackoff = await processor.ProcessDueAsync(default);
        await RunRoundsAsync(processor, rounds: 6);

        // The first call left Slack's lane waiting for its backoff while Teams' lane moved on.
        Assert.Equal(1, beforeBackoff);
        Assert.Equal(
            [typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(RoleAssigned), typeof(UpdatePosted)],
            Slack.Received.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Teams.Received.Select(e => e.GetType()));
    }

    [Fact]
    public async Task ProcessDue_LaneWaitingForRetry_OtherIncidentsFlowToTheSameHandler()
    {
        var stuck = await DeclareWithUpdateAsync("Stuck in Slack");
        Slack.Behaviour = (e, _) => e.IncidentId == stuck.Id ? throw new HttpRequestException("Slack answered 500") : Task.CompletedTask;
        var processor = Processor(Slack, Reminders);
        var flowing = await DeclareWithUpdateAsync("Flowing");

        // No clock movement: the stuck lane's backoff never runs out.
        for (var i = 0; i < 4; i++)
        {
            await processor.ProcessDueAsync(default);
        }

        Assert.Equal(ThreeEvents, Slack.Received.Where(e => e.IncidentId == flowing.Id).Select(e => e.GetType()));
        Assert.Equal([typeof(IncidentDeclared)], Slack.Received.Where(e => e.IncidentId == stuck.Id).Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Reminders.Received.Where(e => e.IncidentId == stuck.Id).Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Reminders.Received.Where(e => e.IncidentId == flowing.Id).Select(e => e.GetType()));
    }

    [Fact]
    public async Task ProcessDue_MaxAttemptsReached_GivesUpForThatHandlerOnly()
    {
        Settings.MaxAttempts = 3;
        Slack.Behaviour = (e, _) => e is IncidentDeclared ? throw new InvalidOperationException("channel_not_found") : Task.CompletedTask;
        Teams.Behaviour = (e, _) => e is IncidentDeclared && Teams.Received.Count == 1 ? throw new HttpRequestException("Teams answered 502") : Task.CompletedTask;
        var processor = Processor(Slack, Teams, Reminders);
        await DeclareWithUpdateAsync();

        await RunRoundsAsync(processor, rounds: 8);

        Assert.Equal(
            [typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(RoleAssigned), typeof(UpdatePosted)],
            Slack.Received.Select(e => e.GetType()));
        Assert.Equal([typeof(IncidentDeclared), .. ThreeEvents], Teams.Received.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Reminders.Received.Select(e => e.GetType()));
        Assert.Equal(
            "slack:3:InvalidOperationException: channel_not_found",
            await QueryScalarAsync<string>("SELECT handler || ':' || attempts || ':' || error FROM outbox_deliveries WHERE failed_at IS NOT NULL"));
        Assert.Equal(1, await QueryScalarAsync<int>("SELECT count(*) FROM outbox_deliveries WHERE failed_at IS NOT NULL"));
        Assert.Equal(8, await QueryScalarAsync<int>("SELECT count(*) FROM outbox_deliveries WHERE done_at IS NOT NULL"));
    }

    [Fact]
    public async Task ProcessDue_Batch_DeliversItsLanesConcurrently()
    {
        // Each waits for the other to have started: delivered one after the other, neither would finish.
        var slackStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var teamsStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Slack.Behaviour = async (_, ct) =>
        {
            slackStarted.TrySetResult();
            await teamsStarted.Task.WaitAsync(Timeout, ct);
        };
        Teams.Behaviour = async (_, ct) =>
        {
            teamsStarted.TrySetResult();
            await slackStarted.Task.WaitAsync(Timeout, ct);
        };
        var processor = Processor(Slack, Teams);
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default);

        var claimed = await processor.ProcessDueAsync(default).WaitAsync(Timeout);

        Assert.Equal(2, claimed);
        Assert.Equal(2, await QueryScalarAsync<int>("SELECT count(*) FROM outbox_deliveries WHERE done_at IS NOT NULL"));
    }

    [Fact]
    public async Task Running_SlowHandler_HoldsOnlyItsOwnLane()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Slack.Behaviour = (e, ct) => e is IncidentDeclared ? release.Task.WaitAsync(ct) : Task.CompletedTask;
        Settings.BatchSize = 2;
        var processor = Processor(Slack, Teams, Reminders);
        await processor.StartAsync(default);

        var first = await DeclareWithUpdateAsync("First");
        var second = await DeclareWithUpdateAsync("Second");
        await WaitUntilAsync(() => Teams.Received.Count == 6 && Reminders.Received.Count == 6, "Teams and reminders to get every event");
        var slackWhileStalled = Slack.Received.ToList();
        release.SetResult();
        await WaitUntilAsync(() => Slack.Received.Count == 6, "Slack to catch up");

        // Slack's two stalled calls held both slots of a batch only until they were released; the other lanes never waited.
        Assert.Equal([typeof(IncidentDeclared), typeof(IncidentDeclared)], slackWhileStalled.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Slack.Received.Where(e => e.IncidentId == first.Id).Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Slack.Received.Where(e => e.IncidentId == second.Id).Select(e => e.GetType()));
    }

    [Fact]
    public async Task ProcessDue_DeliveryOutlivesItsLease_IsCancelledAndLeftForTheNextClaim()
    {
        Settings.Lease = TimeSpan.FromMilliseconds(300);
        var calls = 0;
        Slack.Behaviour = (_, ct) => Interlocked.Increment(ref calls) == 1 ? Task.Delay(System.Threading.Timeout.Infinite, ct) : Task.CompletedTask;
        var processor = Processor(Slack, Teams);
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default);

        await processor.ProcessDueAsync(default).WaitAsync(Timeout);
        var whileLeased = await processor.ProcessDueAsync(default);
        var state = await QueryScalarAsync<string>(
            "SELECT attempts || ':' || (lease_until IS NOT NULL) || ':' || (done_at IS NULL) || ':' || (error IS NULL) FROM outbox_deliveries WHERE handler = 'slack'");
        Clock.Advance(TimeSpan.FromSeconds(1));
        var afterLease = await processor.ProcessDueAsync(default);

        // Neither completed nor retried by the cancelled run: the row is left as claimed, so the lease decides.
        Assert.Equal(0, whileLeased);
        Assert.Contains(state, new[] { "1:1:1:1", "1:true:true:true" });
        Assert.Equal(1, afterLease);
        Assert.Equal(2, calls);
        Assert.Equal(2, await QueryScalarAsync<int>("SELECT count(*) FROM outbox_deliveries WHERE done_at IS NOT NULL"));
    }

    [Fact]
    public async Task ProcessDue_DeliveryKeepsTimingOut_EachTimeoutCountsThenGivenUpVisiblyAndTheLaneMovesOn()
    {
        Settings.MaxAttempts = 3;
        Settings.DeliveryTimeout = TimeSpan.FromMilliseconds(200);
        var slack = new LaneHandler($"slack-{Guid.NewGuid():N}")
        {
            // A platform call that never answers, until the delivery's token says stop.
            Behaviour = (e, ct) => e is IncidentDeclared ? Task.Delay(System.Threading.Timeout.Infinite, ct) : Task.CompletedTask,
        };
        using var gaveUp = new GaveUpCounter(slack.Name);
        var processor = Processor(slack, Teams);
        var incident = await DeclareWithUpdateAsync();

        await RunRoundsAsync(processor, rounds: 6).WaitAsync(Timeout);

        Assert.Equal(
            [typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(IncidentDeclared), typeof(RoleAssigned), typeof(UpdatePosted)],
            slack.Received.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Teams.Received.Select(e => e.GetType()));
        Assert.Equal(
            $"3:timed out after {Settings.DeliveryTimeout}",
            await QueryScalarAsync<string>("SELECT attempts || ':' || error FROM outbox_deliveries WHERE failed_at IS NOT NULL AND handler = @Handler", new { Handler = slack.Name }));
        var entry = Assert.Single(await TimelineAsync(incident), e => e.Text.StartsWith("IncidentBot gave up", StringComparison.Ordinal));
        Assert.Equal((TimelineKind.System, $"IncidentBot gave up delivering the new incident (its war room and card) to {slack.Name} after 3 attempts"), (entry.Kind, entry.Text));
        Assert.Equal([("timeout", 1L)], gaveUp.Counts);
    }

    [Fact]
    public async Task ProcessDue_AttemptsEndedWithoutOutcome_GivenUpAtClaimWithoutRunningAgain()
    {
        Settings.MaxAttempts = 3;
        var processor = Processor(Slack, Teams);
        var incident = await DeclareWithUpdateAsync();
        // Three instances in a row claim the declare for Slack and die before recording anything (kill -9 mid-call).
        for (var i = 0; i < 3; i++)
        {
            await using var doomed = _database.CreateServices(b => b.Services.AddSingleton<TimeProvider>(Clock));
            var outbox = doomed.GetRequiredService<IOutbox>();
            await outbox.CheckInAsync(starting: false, default);
            Assert.Single(await outbox.ClaimAsync(new Dictionary<string, int> { ["slack"] = 1, ["teams"] = 0 }, Settings.Lease, default));
            Clock.Advance(2 * Settings.CheckinInterval);
        }

        await RunRoundsAsync(processor, rounds: 3);

        // The fourth claim is over the limit: given up unrun, visibly, and Slack's lane moves on.
        Assert.Equal([typeof(RoleAssigned), typeof(UpdatePosted)], Slack.Received.Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Teams.Received.Select(e => e.GetType()));
        Assert.Equal("4:no outcome recorded in 3 attempts", await QueryScalarAsync<string>("SELECT attempts || ':' || error FROM outbox_deliveries WHERE failed_at IS NOT NULL"));
        Assert.Contains(await TimelineAsync(incident), e => e.Kind == TimelineKind.System && e.Text == "IncidentBot gave up delivering the new incident (its war room and card) to slack after 4 attempts");
    }

    [Fact]
    public async Task Stop_DeliveryCutShort_ItsClaimIsFreeForAnotherInstanceAtOnce()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Slack.Behaviour = (e, ct) =>
        {
            started.TrySetResult();
            return Task.Delay(System.Threading.Timeout.Infinite, ct);
        };
        var processor = Processor(Slack);
        await processor.StartAsync(default);
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default);
        await started.Task.WaitAsync(Timeout);

        await processor.StopAsync(default);
        await using var next = _database.CreateServices(b => b.Services.AddSingleton<TimeProvider>(Clock));
        var outbox = next.GetRequiredService<IOutbox>();
        await outbox.CheckInAsync(starting: false, default);
        var taken = await outbox.ClaimAsync(new Dictionary<string, int> { ["slack"] = 1 }, Settings.Lease, default);

        // No clock movement: neither the lease nor a stale check-in freed it, the check-out did.
        Assert.Equal((typeof(IncidentDeclared), 2), (Assert.Single(taken).Event.GetType(), taken[0].Attempts));
    }

    [Fact]
    public async Task HostStops_DeliveryRunning_EndsBeforeTheServicesRegisteredAfterTheEngineStop()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        Slack.Behaviour = async (e, ct) =>
        {
            Interlocked.Increment(ref running);
            started.TrySetResult();
            try
            {
                await new TaskCompletionSource().Task.WaitAsync(ct);
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        };

        // Composed as the app is: a handler's own services (the scheduler, say) are registered after the engine, so the
        // host stops them first.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(_database.Configuration);
        builder.Services.AddLogging();
        builder.AddIncidentEngine();
        builder.AddStorage();
        builder.Services.AddSingleton<IIncidentEventHandler>(Slack);
        var dependency = new StopProbe(() => Volatile.Read(ref running));
        builder.Services.AddHostedService(_ => dependency);
        using var host = builder.Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<IncidentService>().DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default);
        await started.Task.WaitAsync(Timeout);

        await host.StopAsync();

        Assert.Equal(0, dependency.DeliveriesRunningAtItsStop);
    }

    [Fact]
    public async Task ProcessDue_FirstRound_ChecksInBeforeClaiming()
    {
        var processor = Processor(Slack);
        await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default);

        await processor.ProcessDueAsync(default);

        var instance = _services!.GetRequiredService<IOutbox>().Instance;
        Assert.Equal(Clock.GetUtcNow(), await QueryScalarAsync<DateTimeOffset>("SELECT checked_in_at FROM outbox_instances WHERE instance_id = @Instance", new { Instance = instance }));
        Assert.Equal(instance, await QueryScalarAsync<string>("SELECT claimed_by FROM outbox_deliveries"));
    }

    [Fact]
    public async Task ProcessDue_IdleForAMinute_ChecksInWithEveryClaimInOneCommandAndForgetsOnce()
    {
        var processor = Processor(Slack, Teams, Reminders);
        await processor.ProcessDueAsync(default);
        var instance = _services!.GetRequiredService<IOutbox>().Instance;
        var ticks = (int)(OutboxProcessor.ForgetInterval / Settings.CheckinInterval);

        var commands = new PostgresCommandCount();
        using (commands)
        {
            for (var i = 0; i < ticks; i++)
            {
                Clock.Advance(Settings.CheckinInterval);
                await processor.ProcessDueAsync(default);
            }
        }

        Assert.Equal(Clock.GetUtcNow(), await QueryScalarAsync<DateTimeOffset>(
            "SELECT checked_in_at FROM outbox_instances WHERE instance_id = @Instance", new { Instance = instance }));
        if (_database is PostgresTestDatabase)
        {
            // One claim per tick, all but one carrying the check-in, and once a check-in that also forgets the instances gone.
            Assert.Equal(ticks + 1, commands.Commands.Count);
        }
    }

    [Fact]
    public async Task ProcessDue_HandlerAddedLater_GetsNoOldHistory()
    {
        var before = await DeclareWithUpdateAsync("Before Teams");
        await RunRoundsAsync(Processor(Slack), rounds: 3);

        var after = await DeclareWithUpdateAsync("After Teams");
        await RunRoundsAsync(Processor(Slack, Teams), rounds: 3);

        Assert.Equal(ThreeEvents, Slack.Received.Where(e => e.IncidentId == before.Id).Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Slack.Received.Where(e => e.IncidentId == after.Id).Select(e => e.GetType()));
        Assert.Equal(ThreeEvents, Teams.Received.Select(e => e.GetType()));
        Assert.All(Teams.Received, e => Assert.Equal(after.Id, e.IncidentId));
    }

    [Fact]
    public async Task AddNote_EvenWithHandlersTakingEverything_QueuesNothingAndSignalsNothingButTheTimelineHasIt()
    {
        var incidents = Incidents;
        var incident = (await incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default)).Incident;
        await RunRoundsAsync(Processor(Slack, Teams), rounds: 1);
        while (await _signal.WaitAsync(TimeSpan.Zero, default))
        {
            // Drains the wake-up the declare left.
        }

        await incidents.AddNoteAsync(incident.Number, "Rolled back the deploy", AsAnn, default);
        await RunRoundsAsync(Processor(Slack, Teams), rounds: 1);

        Assert.Equal(0L, await QueryScalarAsync<long>("SELECT count(*) FROM outbox WHERE event_type = 'note_added'"));
        Assert.False(await _signal.WaitAsync(TimeSpan.Zero, default), "a note must not wake the outbox");
        Assert.DoesNotContain(Slack.Received.Concat(Teams.Received), e => e is NoteAdded);
        Assert.Contains(await TimelineAsync(incident), e => e.Kind == TimelineKind.Note && e.Text == "Rolled back the deploy");
    }

    [Fact]
    public async Task AddIncidentEngine_ProcessRunningNoHandlers_StillQueuesWhatOtherInstancesDeliver()
    {
        // A process that only declares (a tool, or an instance with no chat platform on) must still queue the declare, so
        // the instances that run the scheduler set its reminders; only the timeline-only note is left out.
        await using var services = _database.CreateServices(b =>
        {
            b.Services.AddSingleton<TimeProvider>(Clock);
            b.AddIncidentEngine();
        });
        var incidents = services.GetRequiredService<IncidentService>();

        var incident = (await incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), AsAnn, default)).Incident;
        await incidents.AddNoteAsync(incident.Number, "Rolled back the deploy", AsAnn, default);
        await incidents.PostUpdateAsync(incident.Number, "Rolled back", AsAnn, default);

        Assert.Equal(
            ["declared", "update_posted"],
            (await QueryAsync<string>("SELECT event_type FROM outbox WHERE incident_id = @Id ORDER BY id", new { incident.Id })).ToList());
    }

    [Fact]
    public void Constructor_TwoHandlersWithTheSameName_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Processor(Slack, new LaneHandler("slack")));

        Assert.Contains("'slack'", error.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(20);
        }
    }
}

public sealed class SqliteOutboxProcessorTests : OutboxProcessorTests<SqliteTestDatabase>;

public sealed class PostgresOutboxProcessorTests : OutboxProcessorTests<PostgresTestDatabase>;

/// <summary>A service the host stops before the engine (it is registered after it): notes how many deliveries were running then.</summary>
public sealed class StopProbe(Func<int> deliveriesRunning) : IHostedService
{
    public int? DeliveriesRunningAtItsStop { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        DeliveriesRunningAtItsStop = deliveriesRunning();
        return Task.CompletedTask;
    }
}

/// <summary>Records every call (failed ones too) and then does what <see cref="Behaviour"/> says.</summary>
public sealed class LaneHandler(string name) : IIncidentEventHandler
{
    private readonly ConcurrentQueue<IncidentEvent> _received = new();

    public string Name => name;

    public Func<IncidentEvent, CancellationToken, Task>? Behaviour { get; set; }

    public IReadOnlyList<IncidentEvent> Received => _received.ToArray();

    /// <summary>The event types this handler says it does not receive.</summary>
    public IReadOnlySet<Type> Ignores { get; set; } = new HashSet<Type>();

    public bool Receives(Type eventType) => !Ignores.Contains(eventType);

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        _received.Enqueue(incidentEvent);
        if (Behaviour is { } behaviour)
        {
            await behaviour(incidentEvent, cancellationToken);
        }
    }
}

/// <summary>Counts <c>incidentbot.outbox.gave_up</c> for one handler, by reason.</summary>
public sealed class GaveUpCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Reason, long Value)> _counts = new();

    public GaveUpCounter(string handler)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IncidentBotTelemetry.Name && instrument.Name == "incidentbot.outbox.gave_up")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? tagHandler = null, reason = null;
            foreach (var tag in tags)
            {
                tagHandler = tag.Key == "handler" ? tag.Value as string : tagHandler;
                reason = tag.Key == "reason" ? tag.Value as string : reason;
            }

            if (tagHandler == handler)
            {
                _counts.Enqueue((reason ?? "", value));
            }
        });
        _listener.Start();
    }

    public IReadOnlyList<(string Reason, long Value)> Counts => _counts.ToArray();

    public void Dispose() => _listener.Dispose();
}
