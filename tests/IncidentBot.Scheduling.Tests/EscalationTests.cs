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
/// Escalation that reaches a person, end to end through the host against fake pagers that deduplicate as PagerDuty and
/// Opsgenie do: every escalation opens its own alert (and notifies), acks and resolves reach every alert. The hosts run
/// on a fake clock that the tests move.
/// </summary>
public abstract class EscalationTests<TDatabase> : IAsyncLifetime
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

    private SchedulingHost Start(Dictionary<string, string?> settings, bool realTime = false)
    {
        var all = new Dictionary<string, string?>
        {
            ["Reminders:Sev1"] = "00:10:00",
            ["Reminders:Sev2"] = "00:10:00",
            ["Paging:RetryDelay"] = "00:00:00.050",
            ["Paging:PagerDuty:EventsUrl"] = _pagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Paging:Opsgenie:ApiUrl"] = _opsgenie.ApiUrl.ToString(),
            ["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey,
            ["Escalation:PageSeverities:0"] = "SEV1",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var host = new SchedulingHost(_database, all, clock: realTime ? null : _clock);
        _hosts.Add(host);
        _ = host.Server;
        return host;
    }

    /// <summary>Declares and waits until the declare is handled (its timers set, its first page sent) before time moves on.</summary>
    private static async Task<Incident> DeclareAsync(SchedulingHost host, Severity severity)
    {
        var incident = (await host.Incidents.DeclareAsync(new DeclareRequest("Checkout is down", severity), Ann, default)).Incident;
        await host.SettledAsync();
        return incident;
    }

    private static string Key(Incident incident, int sequence) => Pagers.DedupKey(incident.Number, sequence);

    [Fact]
    public async Task DeclarePage_MissedUpdateEscalation_AndEachRepeat_EachNotify()
    {
        var host = Start(new()
        {
            ["Reminders:Sev1"] = "00:00:02",
            ["Reminders:EscalateAfterMissed"] = "2",
            ["Escalation:Repeat"] = "1",
            ["Escalation:RepeatDelay"] = "00:00:01",
        });
        var incident = await DeclareAsync(host, Severity.Sev1);

        for (var second = 0; second < 6; second++)
        {
            await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        }

        // The declare run (level 1, its repeat) and the missed-update run (level 1, its repeat): four escalations.
        await host.Events.WaitForAsync<IncidentEscalated>(incident.Number, count: 4, TimeSpan.FromSeconds(30));
        await _pagerDuty.Book.WaitForNotifiedAsync(4);
        await _opsgenie.Book.WaitForNotifiedAsync(4);

        // The two runs overlap, so their steps take keys in the order they fire; each key is one alert, each alert notified.
        var keys = Enumerable.Range(1, 4).Select(n => Key(incident, n)).ToHashSet();
        Assert.Equal(4, _pagerDuty.Events.Count);
        Assert.Equal(keys, _pagerDuty.Events.Select(e => (string)e["dedup_key"]!).ToHashSet());
        Assert.Equal(keys, _pagerDuty.NotifiedKeys.ToHashSet());
        Assert.Equal(4, _pagerDuty.NotifiedKeys.Count);
        Assert.Equal(keys, _opsgenie.NotifiedKeys.ToHashSet());
        Assert.Equal(4, _opsgenie.NotifiedKeys.Count);
        Assert.Equal(Key(incident, 1), _pagerDuty.NotifiedKeys[0]);
        Assert.All(_pagerDuty.Book.Alerts, a => Assert.Single(a.Log));
        var timeline = await host.TimelineAsync(incident);
        Assert.Contains(timeline, e => e.Text.Contains("no status update after 2 reminders", StringComparison.Ordinal));
    }

    /// <summary>
    /// The next step's timer is set when the previous step's pages have gone out, which can be just after the host
    /// looked settled: move the clock a second at a time until the incident escalated <paramref name="times"/> (a few steps at most).
    /// </summary>
    private static async Task AdvanceUntilEscalatedAsync(SchedulingHost host, Incident incident, int times)
    {
        for (var step = 0; step < 5 && host.Events.Of<IncidentEscalated>(incident.Number).Count < times; step++)
        {
            await host.AdvanceAsync(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public async Task SecondLevelPagingTheSameProvider_OpensANewAlertInsteadOfMergingIntoTheFirst()
    {
        var host = Start(new()
        {
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Targets:0"] = "pagerduty",
            ["Escalation:Levels:1:Targets:1"] = "opsgenie",
            ["Escalation:Levels:1:Delay"] = "00:00:01",
        });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await AdvanceUntilEscalatedAsync(host, incident, times: 2);

        await host.Events.WaitForAsync<IncidentEscalated>(incident.Number, count: 2);
        await _pagerDuty.Book.WaitForNotifiedAsync(2);
        await _opsgenie.Book.WaitForNotifiedAsync(1);

        Assert.Equal([Key(incident, 1), Key(incident, 2)], _pagerDuty.NotifiedKeys.ToArray());
        Assert.Equal([Key(incident, 2)], _opsgenie.NotifiedKeys.ToArray());
    }

    [Fact]
    public async Task AckThenResolve_InChat_ReachEveryAlertAtEveryPager()
    {
        var host = Start(new()
        {
            ["Escalation:Repeat"] = "2",
            ["Escalation:RepeatDelay"] = "00:00:01",
        });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await AdvanceUntilEscalatedAsync(host, incident, times: 2);
        await host.Events.WaitForAsync<IncidentEscalated>(incident.Number, count: 2);
        await _pagerDuty.Book.WaitForNotifiedAsync(2);
        await _opsgenie.Book.WaitForNotifiedAsync(2);
        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);
        await WaitUntilAsync(() => _pagerDuty.Book.Alerts.All(a => a.Status == FakeAlertStatus.Acknowledged)
            && _opsgenie.Book.Alerts.All(a => a.Status == FakeAlertStatus.Acknowledged));

        await host.Incidents.ResolveAsync(incident.Number, "rolled back", Ann, default);

        await WaitUntilAsync(() => _pagerDuty.Book.Alerts.All(a => a.Status == FakeAlertStatus.Resolved)
            && _opsgenie.Book.Alerts.All(a => a.Status == FakeAlertStatus.Resolved));
        var alerts = _pagerDuty.Book.Alerts.Count;
        Assert.InRange(alerts, 2, 3);
        Assert.Equal(alerts, _opsgenie.Book.Alerts.Count);
        Assert.Equal(alerts, _pagerDuty.Events.Count(e => (string?)e["event_action"] == "acknowledge"));
        Assert.Equal(alerts, _pagerDuty.Events.Count(e => (string?)e["event_action"] == "resolve"));
        Assert.Equal(alerts, _opsgenie.Requests.Count(r => r.Path.EndsWith("/close", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PageSentButItsSenderDied_SentAgainUnderTheSameKeyNeverANewOne()
    {
        var name = $"crash-{Guid.NewGuid():N}";
        var settings = new Dictionary<string, string?>
        {
            ["Scheduler:Name"] = name,
            ["Escalation:PageSeverities:0"] = "none",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Paging:ClaimLease"] = "00:00:02",
            ["Paging:SweepInterval"] = "00:00:01",
        };
        // Real time: the sweeper that takes over a dead sender's page waits out its claim on the wall clock.
        var first = Start(settings, realTime: true);
        var incident = await DeclareAsync(first, Severity.Sev2);
        await first.Incidents.RequestPageAsync(incident.Number, null, null, Ann, default);
        await _pagerDuty.WaitForAsync(1);
        _pagerDuty.Hold();
        await first.Incidents.RequestPageAsync(incident.Number, null, null, Ann, default);
        await _pagerDuty.WaitForAsync(2);

        // The sender stops while the pager holds its request: told to stop, it does not keep the shutdown waiting
        // (Quartz would wait for it the host's whole shutdown timeout, then shut the store down under it).
        var firstLogs = first.Logs;
        await first.DisposeAsync();
        _hosts.Remove(first);
        Assert.Contains(firstLogs.GetSnapshot(), r => r.Category == typeof(IncidentTimerJob).FullName && r.Message.Contains("stopped by the shutdown", StringComparison.Ordinal));
        Assert.DoesNotContain(firstLogs.GetSnapshot(), r => r.Message.Contains("gave up waiting", StringComparison.Ordinal));
        _pagerDuty.Release();
        var second = Start(settings, realTime: true);

        await _pagerDuty.WaitForAsync(3);
        await WaitUntilAsync(() => _pagerDuty.Book.Alerts.Count == 2);
        var rows = await second.Services.GetRequiredService<PageLedger>().ListAsync(incident.Id, default);
        await WaitUntilAsync(async () => (await second.Services.GetRequiredService<PageLedger>().ListAsync(incident.Id, default))
            .Where(r => r.Action == "trigger").All(r => r.Status == PageLedger.Sent));

        // The dying sender may have retried before it died; whoever sends it, the second page keeps its key.
        var sent = _pagerDuty.Events.Select(e => (string)e["dedup_key"]!).ToList();
        Assert.Equal(Key(incident, 1), sent[0]);
        Assert.True(sent.Count >= 3, "the page was not sent again after its sender died");
        Assert.All(sent.Skip(1), key => Assert.Equal(Key(incident, 2), key));
        Assert.Equal([Key(incident, 1), Key(incident, 2)], _pagerDuty.NotifiedKeys.ToArray());
        Assert.Equal(2, rows.Count(r => r.Action == "trigger"));
    }

    [Fact]
    public async Task SeverityRaisedToAPagingSeverity_StartsARun_AndTheTimelineSaysSo()
    {
        var host = Start(TwoLevels());
        var incident = await DeclareAsync(host, Severity.Sev3);
        await host.Events.WaitForAsync<IncidentDeclared>(incident.Number);
        Assert.Empty(_pagerDuty.Requests);

        await host.Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, Ann, default);

        var escalated = Assert.Single(await host.Events.WaitForAsync<IncidentEscalated>(incident.Number));
        Assert.Equal("raised to SEV1", escalated.Event.Reason);
        await _pagerDuty.Book.WaitForNotifiedAsync(1);
        Assert.Equal([Key(incident, 1)], _pagerDuty.NotifiedKeys.ToArray());
        Assert.Contains(await host.TimelineAsync(incident), e => e.Kind == TimelineKind.Page && e.Text == "Raised to SEV1: escalation started");
    }

    [Fact]
    public async Task SeverityRaisedWhileAcknowledged_PagesNobody()
    {
        var host = Start(TwoLevels());
        var incident = await DeclareAsync(host, Severity.Sev3);
        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);

        await host.Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, Ann, default);
        await host.SettledAsync();
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Empty(host.Events.Of<IncidentEscalated>(incident.Number));
        Assert.Empty(_pagerDuty.Requests);
    }

    [Fact]
    public async Task SeverityLoweredBelowPaging_StopsTheLevelsNotYetPaged()
    {
        var host = Start(TwoLevels());
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);

        await host.Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev3, Ann, default);
        await host.SettledAsync();
        Assert.Contains(await host.TimelineAsync(incident), e => e.Text == "Lowered to SEV3: escalation levels not yet paged were stopped");
        await host.AdvanceAsync(TimeSpan.FromSeconds(3));

        Assert.Empty(_opsgenie.Requests);
        Assert.Single(host.Events.Of<IncidentEscalated>(incident.Number));
        var steps = (await host.Services.GetRequiredService<PageLedger>().ListAsync(incident.Id, default)).Where(r => r.Action == PageLedger.Escalate).ToList();
        Assert.Contains(steps, r => r.Level == 2 && r.Status == PageLedger.Stopped);
    }

    [Fact]
    public async Task SeverityLowered_StopOnDowngradeOff_LaterLevelsStillPage()
    {
        var host = Start(new(TwoLevels()) { ["Escalation:StopOnDowngrade"] = "false" });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.WaitForAsync(1);

        await host.Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev3, Ann, default);
        await host.SettledAsync();
        await host.AdvanceAsync(TimeSpan.FromSeconds(2));

        await _opsgenie.Book.WaitForNotifiedAsync(1);
        Assert.Equal([Key(incident, 2)], _opsgenie.NotifiedKeys.ToArray());
    }

    [Fact]
    public async Task PageAPerson_OpsgenieKnowsThem_OpsgenieNotifiesThatUser_AndPagerDutyIsSaidToBeUnable()
    {
        var host = Start(new() { ["Escalation:PageSeverities:0"] = "none", ["Paging:Opsgenie:Users:U2"] = "bo@example.com" });
        var incident = await DeclareAsync(host, Severity.Sev2);

        await host.Incidents.RequestPageAsync(incident.Number, null, Bo, Ann, default);

        var escalated = Assert.Single(await host.Events.WaitForAsync<IncidentEscalated>(incident.Number));
        Assert.Equal(["opsgenie:user:bo@example.com"], escalated.Event.Targets);
        await _opsgenie.Book.WaitForNotifiedAsync(1);
        var notified = Assert.Single(_opsgenie.Book.Notifications);
        Assert.Equal(["user:bo@example.com"], notified.Responders);
        Assert.Equal(Key(incident, 1), notified.Key);
        await WaitUntilAsync(async () => (await host.TimelineAsync(incident)).Any(e => e.Text == "PagerDuty cannot page Bo: its Events API pages a service, not a person"));
        Assert.Empty(_pagerDuty.Requests);

        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);
        await WaitUntilAsync(() => _opsgenie.Book.Alerts.All(a => a.Status == FakeAlertStatus.Acknowledged));
    }

    [Fact]
    public async Task PageAPerson_NoPagerCanReachThem_TimelineSaysPlainlyWhy()
    {
        var host = Start(new() { ["Escalation:PageSeverities:0"] = "none" });
        var incident = await DeclareAsync(host, Severity.Sev2);

        await host.Incidents.RequestPageAsync(incident.Number, null, Bo, Ann, default);

        await WaitUntilAsync(async () => (await host.TimelineAsync(incident)).Any(e => e.Text.StartsWith("Nobody was paged for Bo: ", StringComparison.Ordinal)));
        var line = (await host.TimelineAsync(incident)).Single(e => e.Text.StartsWith("Nobody was paged for Bo: ", StringComparison.Ordinal)).Text;
        Assert.Contains("Paging:Opsgenie:Users has no Opsgenie username for chat user U2", line);
        Assert.Contains("PagerDuty cannot page Bo: its Events API pages a service, not a person", line);
        Assert.Empty(_pagerDuty.Requests);
        Assert.Empty(_opsgenie.Requests);
        Assert.Empty(host.Events.Of<IncidentEscalated>(incident.Number));
    }

    [Fact]
    public async Task LevelNamesAServiceAndATeam_PagedThere_AndTheAckReachesTheSameService()
    {
        const string payments = "P0123456789abcdef0123456789abcde";
        var host = Start(new()
        {
            ["Paging:PagerDuty:RoutingKeys:payments"] = payments,
            ["Escalation:Levels:0:Targets:0"] = "pagerduty:payments",
            ["Escalation:Levels:0:Targets:1"] = "opsgenie:team:Payments",
        });
        var incident = await DeclareAsync(host, Severity.Sev1);
        await _pagerDuty.Book.WaitForNotifiedAsync(1);
        await _opsgenie.Book.WaitForNotifiedAsync(1);

        await host.Incidents.AcknowledgeAsync(incident.Number, Ann, default);

        await WaitUntilAsync(() => _pagerDuty.Book.Alerts.All(a => a.Status == FakeAlertStatus.Acknowledged) && _opsgenie.Book.Alerts.All(a => a.Status == FakeAlertStatus.Acknowledged));
        Assert.All(_pagerDuty.Events, e => Assert.Equal(payments, (string?)e["routing_key"]));
        Assert.Equal(payments, Assert.Single(_pagerDuty.Book.Notifications).Scope);
        Assert.Equal(["team:Payments"], Assert.Single(_opsgenie.Book.Notifications).Responders);
    }

    private static Dictionary<string, string?> TwoLevels() => new()
    {
        ["Escalation:Levels:0:Targets:0"] = "pagerduty",
        ["Escalation:Levels:1:Targets:0"] = "opsgenie",
        ["Escalation:Levels:1:Delay"] = "00:00:02",
    };

    private static async Task WaitUntilAsync(Func<bool> condition) => await WaitUntilAsync(() => Task.FromResult(condition()));

    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.HoldsAsync(condition);
}

public sealed class SqliteEscalationTests : EscalationTests<SqliteTestDatabase>;

public sealed class PostgresEscalationTests : EscalationTests<PostgresTestDatabase>;
