using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// Update reminders, commander reminders and escalation end to end through the host, on a fake clock: a test moves
/// time past a moment and, once the host has settled, sees what happened by then and nothing else.
/// </summary>
public abstract class ReminderTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private static readonly Actor Ann = new(new Person("chat", "U1", "Ann"), new ChatSpace("chat", "C-origin"));
    private static readonly Person Bo = new("chat", "U2", "Bo");

    private readonly TDatabase _database = new();
    private readonly FakePagerDuty _pagerDuty = new();
    private readonly FakeOpsgenie _opsgenie = new();
    private readonly List<SchedulingHost> _hosts = [];
    private readonly FakeTimeProvider _clock = TestClock.StartingNow();

    public async Task InitializeAsync() => await Task.WhenAll(_database.InitializeAsync(), _pagerDuty.StartAsync(), _opsgenie.StartAsync());

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _pagerDuty.DisposeAsync();
        await _opsgenie.DisposeAsync();
        await _database.DisposeAsync();
    }

    private SchedulingHost Start(Dictionary<string, string?>? settings = null, bool pagers = false)
    {
        var all = new Dictionary<string, string?>
        {
            ["Reminders:Sev1"] = "00:00:02",
            ["Reminders:Sev2"] = "00:00:04",
            ["Paging:RetryDelay"] = "00:00:00.050",
        };
        if (pagers)
        {
            all["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString();
            all["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey;
            all["Paging:Opsgenie:ApiUrl"] = _opsgenie.BaseAddress.ToString();
            all["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey;
        }

        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var host = new SchedulingHost(_database, all, clock: _clock);
        _hosts.Add(host);
        _ = host.Server;
        return host;
    }

    /// <summary>Declares and waits until the declare is handled (its timers set) before time moves on.</summary>
    private static async Task<Incident> DeclareAsync(SchedulingHost host, Severity severity, Person? commander = null)
    {
        var incident = (await host.Incidents.DeclareAsync(new DeclareRequest("Checkout is down", severity) { Commander = commander }, Ann, default)).Incident;
        await host.SettledAsync();
        return incident;
    }

    [Fact]
    public async Task Reminder_PerSeverityCadence_FiresOnceAtDueTimeMentioningRoles()
    {
        var host = Start();
        var sev1 = await DeclareAsync(host, Severity.Sev1, commander: Bo);
        var sev2 = await DeclareAsync(host, Severity.Sev2);
        var sev3 = await DeclareAsync(host, Severity.Sev3);

        await host.AdvanceAsync(TimeSpan.FromSeconds(2) - Tick);
        Assert.Empty(host.Events.Of<UpdateReminderDue>(sev1.Number));

        await host.AdvanceAsync(Tick);
        var first = Assert.Single(host.Events.Of<UpdateReminderDue>(sev1.Number));
        Assert.Empty(host.Events.Of<UpdateReminderDue>(sev2.Number));
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        var second = Assert.Single(host.Events.Of<UpdateReminderDue>(sev2.Number));

        Assert.Equal(sev1.DeclaredAt + TimeSpan.FromSeconds(2), first.Event.DueAt);
        Assert.Equal(1, first.Event.Missed);
        Assert.Equal(Bo, first.Event.Commander);
        Assert.Equal(first.Event.DueAt, first.At);
        Assert.Equal(sev2.DeclaredAt + TimeSpan.FromSeconds(4), second.Event.DueAt);
        Assert.Null(second.Event.Commander);
        Assert.Empty(host.Events.Of<UpdateReminderDue>(sev3.Number));
        Assert.Contains(await host.TimelineAsync(sev1), e => e.Kind == TimelineKind.System && e.Text.StartsWith("Status update overdue", StringComparison.Ordinal) && e.Text.Contains("Bo", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reminder_UpdatePostedBeforeDue_ResetsFromTheUpdate()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:03" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1.5));
        var updated = (await host.Incidents.PostUpdateAsync(incident.Number, "Rolling back the deploy", Ann, default)).Incident;
        await host.SettledAsync();

        await host.AdvanceAsync(TimeSpan.FromSeconds(1.5));
        Assert.Empty(host.Events.Of<UpdateReminderDue>(incident.Number));
        await host.AdvanceAsync(TimeSpan.FromSeconds(1.5));

        var reminder = Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number));
        Assert.Equal(updated.LastUpdateAt!.Value + TimeSpan.FromSeconds(3), reminder.Event.DueAt);
    }

    [Fact]
    public async Task Reminder_Snoozed_MovesTheTimerAndSkipsTheOldDueTime()
    {
        var host = Start();
        var incident = await DeclareAsync(host, Severity.Sev1);
        var snoozed = (await host.Incidents.SnoozeAsync(incident.Number, 1, Ann, default)).Incident;

        await host.SettledAsync();
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Empty(host.Events.Of<UpdateReminderDue>(incident.Number));
        Assert.Equal(snoozed.NextUpdateDueAt, await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default));
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(snoozed.NextUpdateDueAt, Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number)).Event.DueAt);
    }

    [Fact]
    public async Task Reminder_SeverityChanged_RecomputesFromTheNewCadence()
    {
        var host = Start(new() { ["Reminders:Sev2"] = "00:01:00" });
        var incident = await DeclareAsync(host, Severity.Sev2);
        await host.Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, Ann, default);
        await host.SettledAsync();

        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        var reminder = Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number));

        Assert.Equal(incident.DeclaredAt + TimeSpan.FromSeconds(2), reminder.Event.DueAt);
    }

    [Fact]
    public async Task Reminder_Resolved_NeverFiresAndTimersAreGone()
    {
        var host = Start();
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.Incidents.ResolveAsync(incident.Number, "fixed", Ann, default);

        await host.SettledAsync();
        Assert.Null(await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default));
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Empty(host.Events.Of<UpdateReminderDue>(incident.Number));
    }

    [Fact]
    public async Task Reminder_Reopened_RestartsTheCadence()
    {
        var host = Start();
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.Incidents.ResolveAsync(incident.Number, null, Ann, default);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        var reopened = (await host.Incidents.ReopenAsync(incident.Number, Ann, default)).Incident;
        await host.SettledAsync();

        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        var reminder = Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number));

        Assert.Equal(reopened.NextUpdateDueAt, reminder.Event.DueAt);
    }

    [Fact]
    public async Task Reminder_DeclareRedeliveredAfterTheFirstReminder_CountOfMissedUpdatesGoesOn()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:02" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));
        var declared = Assert.Single(host.Events.Of<IncidentDeclared>(incident.Number)).Event;
        Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number));

        // The outbox delivers at least once: the declare reaches the timers again after the first reminder.
        var timersHandler = host.Services.GetServices<IIncidentEventHandler>().OfType<ReminderEventHandler>().Single();
        await timersHandler.HandleAsync(declared, default);
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        var reminders = host.Events.Of<UpdateReminderDue>(incident.Number);
        Assert.Equal([1, 2], reminders.Select(r => r.Event.Missed).ToArray());
    }

    [Fact]
    public async Task Reminder_SecondMissedUpdate_EscalatesToThePager()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:01" }, pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Empty(host.Events.Of<IncidentEscalated>(incident.Number));

        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        var escalated = Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));
        var reminders = host.Events.Of<UpdateReminderDue>(incident.Number);

        Assert.Equal([1, 2], reminders.Select(r => r.Event.Missed).ToArray());
        Assert.Equal(1, escalated.Event.Level);
        Assert.Equal([Pagers.PagerDuty, Pagers.Opsgenie], escalated.Event.Targets);
        Assert.Contains("no status update after 2 reminders", escalated.Event.Reason);
        var trigger = Assert.Single(await _pagerDuty.WaitForAsync(1));
        Assert.Contains($"\"dedup_key\":\"incidentbot-{incident.Number}\"", trigger.Body);
        await WaitUntilAsync(async () => (await host.TimelineAsync(incident)).Count(e => e.Kind == TimelineKind.Page) >= 3);
        var pages = (await host.TimelineAsync(incident)).Where(e => e.Kind == TimelineKind.Page).Select(e => e.Text).ToList();
        Assert.Contains(pages, t => t.StartsWith("Paged escalation level 1 (pagerduty, opsgenie)", StringComparison.Ordinal));
        Assert.Contains(pages, t => t.StartsWith("pagerduty accepted the page", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Escalation_NotAcknowledged_PagesTheNextLevelAfterTheDelay()
    {
        var host = Start(EscalationSettings(), pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.AdvanceAsync(TimeSpan.FromSeconds(2) - Tick);
        Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));

        await host.AdvanceAsync(Tick);

        var levels = host.Events.Of<IncidentEscalated>(incident.Number);
        Assert.Equal([1, 2], levels.Select(l => l.Event.Level).ToArray());
        Assert.Equal(TimeSpan.FromSeconds(2), levels[1].At - levels[0].At);
        Assert.Single(await _opsgenie.WaitForAsync(1));
        Assert.Single(_pagerDuty.Requests);
    }

    [Fact]
    public async Task Escalation_Acknowledged_StopsBeforeTheNextLevelAndAcknowledgesThePage()
    {
        var host = Start(EscalationSettings(), pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);

        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);
        var events = await _pagerDuty.WaitForAsync(2);
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Equal(["trigger", "acknowledge"], _pagerDuty.Events.Select(e => (string)e["event_action"]!).ToArray());
        Assert.Equal(2, events.Count);
        Assert.Empty(_opsgenie.Requests);
        Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));
    }

    [Fact]
    public async Task Escalation_Resolved_ResolvesThePageAndStops()
    {
        var host = Start(EscalationSettings(), pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);

        await host.Incidents.ResolveAsync(incident.Number, "rolled back", Ann, default);
        await _pagerDuty.WaitForAsync(2);
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Equal(["trigger", "resolve"], _pagerDuty.Events.Select(e => (string)e["event_action"]!).ToArray());
        Assert.All(_pagerDuty.Events, e => Assert.Equal($"incidentbot-{incident.Number}", (string?)e["dedup_key"]));
        Assert.Empty(_opsgenie.Requests);
        Assert.Contains(await host.TimelineAsync(incident), e => e.Kind == TimelineKind.Page && e.Text == $"pagerduty page resolved (incidentbot-{incident.Number})");
    }

    [Fact]
    public async Task Escalation_ReopenedAfterResolve_PagesAgainUnderANewGeneration()
    {
        var host = Start(EscalationSettings(), pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);
        await host.Incidents.ResolveAsync(incident.Number, null, Ann, default);
        await _pagerDuty.WaitForAsync(2);
        await host.AdvanceAsync(TimeSpan.FromMinutes(1));

        await host.Incidents.ReopenAsync(incident.Number, Ann, default);
        await _pagerDuty.WaitForAsync(3);

        Assert.Equal(["trigger", "resolve", "trigger"], _pagerDuty.Events.Take(3).Select(e => (string)e["event_action"]!).ToArray());
        var generations = (await host.Services.GetRequiredService<PageLedger>().ListAsync(incident.Id, default))
            .Where(r => r.Action == "trigger").Select(r => r.Generation).Distinct().Count();
        Assert.Equal(2, generations);
    }

    [Fact]
    public async Task Page_NoPagerConfigured_TimelineSaysNobodyWasPaged()
    {
        var host = Start();
        var incident = await DeclareAsync(host, Severity.Sev2);

        await host.Incidents.RequestPageAsync(incident.Number, null, null, Ann, default);

        await WaitUntilAsync(async () => (await host.TimelineAsync(incident)).Any(e => e.Text.StartsWith("Nobody was paged: no pager is configured", StringComparison.Ordinal)));
        Assert.Empty(host.Events.Of<IncidentEscalated>(incident.Number));
    }

    [Fact]
    public async Task Page_Requested_PagesTheChainNow()
    {
        var host = Start(pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev3);

        await host.Incidents.RequestPageAsync(incident.Number, null, null, Ann, default);

        var escalated = Assert.Single(await host.Events.WaitForAsync<IncidentEscalated>(incident.Number));
        Assert.Equal("paged by Ann", escalated.Event.Reason);
        Assert.Single(await _pagerDuty.WaitForAsync(1));
        Assert.Single(await _opsgenie.WaitForAsync(1));
    }

    [Fact]
    public async Task CommanderMissing_NoIcAfterTheDelay_RemindsThenEscalates()
    {
        var host = Start(new() { ["Reminders:CommanderMissingAfter"] = "00:00:01", ["Reminders:Sev3"] = "" }, pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev3);
        var withIc = await DeclareAsync(host, Severity.Sev3, commander: Bo);
        await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Single(host.Events.Of<CommanderMissing>(incident.Number));
        Assert.Empty(host.Events.Of<IncidentEscalated>(incident.Number));

        await host.AdvanceAsync(TimeSpan.FromSeconds(1));

        var reminders = host.Events.Of<CommanderMissing>(incident.Number);
        var escalated = Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));
        Assert.Equal(2, reminders.Count);
        Assert.Equal(incident.DeclaredAt, reminders[0].Event.DeclaredAt);
        Assert.Equal(incident.DeclaredAt + TimeSpan.FromSeconds(1), reminders[0].At);
        Assert.Equal("no incident commander assigned", escalated.Event.Reason);
        Assert.Empty(host.Events.Of<CommanderMissing>(withIc.Number));
        Assert.Contains(await host.TimelineAsync(incident), e => e.Text.StartsWith("No incident commander", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CommanderMissing_IcAssignedInTime_NoReminder()
    {
        var host = Start(new() { ["Reminders:CommanderMissingAfter"] = "00:00:02" });
        var incident = await DeclareAsync(host, Severity.Sev3);
        await host.Incidents.AssignRoleAsync(incident.Number, IncidentRole.Commander, Bo, Ann, default);
        await host.SettledAsync();

        await host.AdvanceAsync(TimeSpan.FromSeconds(3.5));

        Assert.Empty(host.Events.Of<CommanderMissing>(incident.Number));
    }

    [Fact]
    public async Task Reminder_DueWhileNoInstanceRan_FiresOnceOnRecovery()
    {
        // Same scheduler name: Quartz keys every stored trigger by it, as production instances share one name.
        var name = $"recovery-{Guid.NewGuid():N}";
        var first = Start(new() { ["Scheduler:Name"] = name });
        var incident = await DeclareAsync(first, Severity.Sev1);
        await first.SettledAsync();
        Assert.NotNull(await Timers(first).NextFireAsync(TimerKind.Reminder, incident.Id, default));
        await first.DisposeAsync();
        _hosts.Remove(first);
        _clock.Advance(TimeSpan.FromSeconds(3));

        var second = Start(new() { ["Scheduler:Name"] = name, ["Reminders:Sev1"] = "00:01:00" });
        await second.Events.WaitForAsync<UpdateReminderDue>(incident.Number);
        await second.SettledAsync();

        var reminder = Assert.Single(second.Events.Of<UpdateReminderDue>(incident.Number));
        Assert.Equal(incident.NextUpdateDueAt, reminder.Event.DueAt);
    }

    [Fact]
    public async Task Reminder_TriggerSetByAnEarlierBuild_StillFiresAfterTheUpgrade()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:30" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        var due = _clock.GetUtcNow() + TimeSpan.FromSeconds(2);
        // The map as builds before the typed payload wrote it, replacing the timer the declare set.
        await ScheduleRawAsync(host, incident, due, new()
        {
            ["kind"] = "Reminder", ["incidentId"] = incident.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ["number"] = incident.Number.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["dueAt"] = incident.NextUpdateDueAt!.Value.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), ["missed"] = "3",
        });

        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        var reminder = Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number));
        Assert.Equal((incident.NextUpdateDueAt, 3), (reminder.Event.DueAt, reminder.Event.Missed));
    }

    [Fact]
    public async Task Timer_MapItCannotRead_DroppedWithAnErrorAndTheReconcilerSetsItAgain()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:30" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await ScheduleRawAsync(host, incident, _clock.GetUtcNow() + TimeSpan.FromSeconds(1), new() { ["kind"] = "Reminder", ["incidentId"] = "7" });

        await host.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Contains(host.Logs.GetSnapshot(), l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error && l.Message.Contains("cannot be read", StringComparison.Ordinal));
        Assert.Null(await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default));
        Assert.Equal(1, await host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<TimerReconciler>().Single().ReconcileAsync(default));
        Assert.Equal(incident.NextUpdateDueAt, await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default));
    }

    private static async Task ScheduleRawAsync(SchedulingHost host, Incident incident, DateTimeOffset at, Dictionary<string, string> data)
    {
        var scheduler = await host.Services.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler();
        var key = IncidentTimers.Key(TimerKind.Reminder, incident.Id);
        var map = new Quartz.JobDataMap();
        foreach (var (name, value) in data)
        {
            map[name] = value;
        }

        var job = Quartz.JobBuilder.Create<IncidentTimerJob>().WithIdentity(key).UsingJobData(map).RequestRecovery().Build();
        var trigger = Quartz.TriggerBuilder.Create().WithIdentity(key.Name, key.Group).ForJob(key).StartAt(at).Build();
        await scheduler.ScheduleJob(job, [trigger], new Quartz.ScheduleJobOptions { Replace = true }, default);
    }

    private static Dictionary<string, string?> EscalationSettings() => new()
    {
        ["Reminders:Sev1"] = "00:10:00",
        ["Escalation:PageSeverities:0"] = "SEV1",
        ["Escalation:Levels:0:Targets:0"] = "pagerduty",
        ["Escalation:Levels:0:Delay"] = "00:00:00",
        ["Escalation:Levels:1:Targets:0"] = "opsgenie",
        ["Escalation:Levels:1:Delay"] = "00:00:02",
    };

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    private static IncidentTimers Timers(SchedulingHost host) => host.Services.GetRequiredService<IncidentTimers>();

    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.HoldsAsync(condition);
}

public sealed class SqliteReminderTests : ReminderTests<SqliteTestDatabase>;

public sealed class PostgresReminderTests : ReminderTests<PostgresTestDatabase>;
