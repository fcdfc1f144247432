using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Paging;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// Timers that must not be lost: a firing whose write of the next timer fails is tried again (once, with no second
/// reminder), and a timer that went missing anyway is set again from the incident's state by the reconciler.
/// </summary>
public abstract class TimerRecoveryTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private static readonly Actor Ann = new(new Person("chat", "U1", "Ann"), new ChatSpace("chat", "C-origin"));

    private readonly TDatabase _database = new();
    private readonly FakePagerDuty _pagerDuty = new();
    private readonly FakeOpsgenie _opsgenie = new();
    private readonly SchedulerFaults _faults = new();
    private SchedulingHost? _host;

    public async Task InitializeAsync() => await Task.WhenAll(_database.InitializeAsync(), _pagerDuty.StartAsync(), _opsgenie.StartAsync());

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await _pagerDuty.DisposeAsync();
        await _opsgenie.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task CommanderReminder_SettingTheNextTimerFailsTwice_NextReminderStillComesAndNoneTwice()
    {
        var host = Start(new()
        {
            ["Reminders:CommanderMissingAfter"] = "00:00:02",
            ["Reminders:EscalateAfterMissed"] = "3",
            ["Reminders:Sev3"] = "",
        });
        var incident = await DeclareAsync(host, Severity.Sev3);
        await host.Events.WaitForAsync<IncidentDeclared>(incident.Number);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Commander, incident.Id, default) is not null);
        _faults.FailNext($"commander-{incident.Id}", 2);

        var reminders = await host.Events.WaitForAsync<CommanderMissing>(incident.Number, count: 2, TimeSpan.FromSeconds(30));

        Assert.Equal(2, _faults.Failed);
        Assert.Equal(2, reminders.Count);
        Assert.Equal(2, (await host.TimelineAsync(incident)).Count(e => e.Text.StartsWith("No incident commander", StringComparison.Ordinal)));
        Assert.True(reminders[1].At >= incident.DeclaredAt + TimeSpan.FromSeconds(4), "the second reminder came early");
    }

    [Fact]
    public async Task Reminder_SettingTheNextTimerFails_EscalationStillStartsFromThisReminder()
    {
        var host = Start(new()
        {
            ["Reminders:Sev1"] = "00:00:02",
            ["Reminders:EscalateAfterMissed"] = "1",
            ["Escalation:PageSeverities:0"] = "none",
        }, pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await host.Events.WaitForAsync<IncidentDeclared>(incident.Number);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default) is not null);
        _faults.FailNext($"reminder-{incident.Id}", 1);

        var escalated = Assert.Single(await host.Events.WaitForAsync<IncidentEscalated>(incident.Number));

        Assert.Equal(1, _faults.Failed);
        Assert.Equal("no status update after 1 reminders", escalated.Event.Reason);
        var run = (await host.Services.GetRequiredService<PageLedger>().ListAsync(incident.Id, default)).First(r => r.Action == "escalate");
        Assert.Equal(PagingService.Generation(incident.NextUpdateDueAt!.Value), run.Generation);
        Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number), r => r.Event.DueAt == incident.NextUpdateDueAt);
    }

    [Fact]
    public async Task Reminder_TimerLost_SetAgainByTheReconcilerAndFiresOnce()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:00:03" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default) is not null);

        await Timers(host).CancelAsync(TimerKind.Reminder, incident.Id, default);

        var reminder = Assert.Single(await host.Events.WaitForAsync<UpdateReminderDue>(incident.Number));
        Assert.Equal(incident.NextUpdateDueAt, reminder.Event.DueAt);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Reminder, incident.Id, default) is not null);
        Assert.Single(host.Events.Of<UpdateReminderDue>(incident.Number), r => r.Event.DueAt == incident.NextUpdateDueAt);
    }

    [Fact]
    public async Task CommanderReminder_TimerLost_SetAgainByTheReconciler()
    {
        var host = Start(new() { ["Reminders:CommanderMissingAfter"] = "00:00:03", ["Reminders:Sev3"] = "" });
        var incident = await DeclareAsync(host, Severity.Sev3);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Commander, incident.Id, default) is not null);

        await Timers(host).CancelAsync(TimerKind.Commander, incident.Id, default);

        var reminder = Assert.Single(await host.Events.WaitForAsync<CommanderMissing>(incident.Number));
        Assert.True(reminder.At >= incident.DeclaredAt + TimeSpan.FromSeconds(3), "the reminder came before it was due");
    }

    [Fact]
    public async Task Escalation_NextLevelTimerLost_SetAgainFromTheLedgerAndPaged()
    {
        var host = Start(new()
        {
            ["Reminders:Sev1"] = "00:10:00",
            ["Escalation:PageSeverities:0"] = "SEV1",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:0:Delay"] = "00:00:00",
            ["Escalation:Levels:1:Targets:0"] = "opsgenie",
            ["Escalation:Levels:1:Delay"] = "00:00:03",
        }, pagers: true);
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);
        await WaitUntilAsync(async () => await Timers(host).NextFireAsync(TimerKind.Escalation, incident.Id, default) > DateTimeOffset.UtcNow);

        await Timers(host).CancelAsync(TimerKind.Escalation, incident.Id, default);

        var levels = await host.Events.WaitForAsync<IncidentEscalated>(incident.Number, count: 2);
        Assert.Equal([1, 2], levels.Select(l => l.Event.Level).ToArray());
        Assert.Single(await _opsgenie.WaitForAsync(1));
        Assert.Single(_pagerDuty.Requests);
    }

    [Fact]
    public async Task Reconciler_EveryTimerInPlace_SetsNothing()
    {
        var host = Start(new() { ["Reminders:Sev1"] = "00:10:00", ["Reminders:CommanderMissingAfter"] = "00:10:00" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await WaitUntilAsync(async () =>
            await Timers(host).ExistsAsync(TimerKind.Reminder, incident.Id, default) && await Timers(host).ExistsAsync(TimerKind.Commander, incident.Id, default));

        var armed = await host.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<TimerReconciler>().Single().ReconcileAsync(default);

        Assert.Equal(0, armed);
    }

    private SchedulingHost Start(Dictionary<string, string?> settings, bool pagers = false)
    {
        var all = new Dictionary<string, string?>
        {
            ["Scheduler:ReconcileInterval"] = "00:00:01",
            ["Paging:RetryDelay"] = "00:00:00.050",
        };
        if (pagers)
        {
            all["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString();
            all["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey;
            all["Paging:Opsgenie:ApiUrl"] = _opsgenie.BaseAddress.ToString();
            all["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey;
        }

        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        _host = new SchedulingHost(_database, all, _faults.Install);
        _ = _host.Server;
        return _host;
    }

    private static async Task<Incident> DeclareAsync(SchedulingHost host, Severity severity) =>
        (await host.Incidents.DeclareAsync(new DeclareRequest("Checkout is down", severity), Ann, default)).Incident;

    private static IncidentTimers Timers(SchedulingHost host) => host.Services.GetRequiredService<IncidentTimers>();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not become true in time");
            await Task.Delay(50);
        }
    }
}

public sealed class SqliteTimerRecoveryTests : TimerRecoveryTests<SqliteTestDatabase>;

public sealed class PostgresTimerRecoveryTests : TimerRecoveryTests<PostgresTestDatabase>;
