using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace IncidentBot.Paging.Tests;

/// <summary>Pages through the ledger on a real database: each page once, outcomes in the timeline.</summary>
public abstract class PagingServiceTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private readonly PagerFixture<TDatabase> _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private PagingService Paging => _fixture.Services.GetRequiredService<PagingService>();

    private PageLedger Ledger => _fixture.Services.GetRequiredService<PageLedger>();

    private IIncidentStore Store => _fixture.Services.GetRequiredService<IIncidentStore>();

    private static string FirstKey(Incident incident) => Pagers.DedupKey(incident.Number);

    private static PageKey StepKey(Incident incident, EscalationStep step) =>
        new(incident.Id, PageLedger.Escalate, step.Level, step.Loop, PagingService.Generation(step.StartedAt), "*");

    /// <summary>The step's alert key as the escalation timer gets it: its ledger row, then its place in the sequence.</summary>
    private async Task<string> KeyOfAsync(Incident incident, EscalationStep step)
    {
        await Ledger.ScheduleStepAsync(StepKey(incident, step), step.Reason, step.StartedAt, default);
        return Pagers.DedupKey(incident.Number, await Ledger.AssignKeyAsync(StepKey(incident, step), default));
    }

    private static EscalationStep Step(DateTimeOffset startedAt, int level = 1, int loop = 0) =>
        new(level, loop, [Pagers.PagerDuty, Pagers.Opsgenie, Pagers.Webhook], "declared at SEV1", startedAt);

    [Fact]
    public async Task PageAsync_SameStepTwiceEvenConcurrently_SendsEachPagerOnce()
    {
        var incident = await _fixture.DeclareAsync();
        var step = Step(incident.DeclaredAt);

        await Task.WhenAll(Paging.PageAsync(incident, step, FirstKey(incident), default), Paging.PageAsync(incident, step, FirstKey(incident), default));
        await Paging.PageAsync(incident, step, FirstKey(incident), default);

        Assert.Single(_fixture.PagerDuty.Requests);
        Assert.Single(_fixture.Opsgenie.Requests);
        Assert.Single(_fixture.Webhook.Requests);
        var rows = await Ledger.ListAsync(incident.Id, default);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(PageLedger.Sent, r.Status));
    }

    [Fact]
    public async Task PageAsync_NextLevelRepeatOrNewRun_EachOpensItsOwnAlertAndNotifies()
    {
        var incident = await _fixture.DeclareAsync();
        var steps = new[] { Step(incident.DeclaredAt), Step(incident.DeclaredAt, level: 2), Step(incident.DeclaredAt, loop: 1), Step(incident.DeclaredAt.AddMinutes(5)) };

        foreach (var step in steps)
        {
            await Paging.PageAsync(incident, step, await KeyOfAsync(incident, step), default);
        }

        var keys = new[] { "", "-2", "-3", "-4" }.Select(suffix => $"incidentbot-{incident.Number}{suffix}").ToArray();
        Assert.Equal(keys, _fixture.PagerDuty.Events.Select(e => (string)e["dedup_key"]!).ToArray());
        Assert.Equal(keys, _fixture.PagerDuty.NotifiedKeys.ToArray());
        Assert.Equal(keys, _fixture.Opsgenie.NotifiedKeys.ToArray());
    }

    [Fact]
    public async Task AssignKeyAsync_SameStepAgain_KeepsItsKey()
    {
        var incident = await _fixture.DeclareAsync();
        var first = StepKey(incident, Step(incident.DeclaredAt));
        var second = StepKey(incident, Step(incident.DeclaredAt, level: 2));
        await Ledger.ScheduleStepAsync(first, "declared", incident.DeclaredAt, default);
        await Ledger.ScheduleStepAsync(second, "declared", incident.DeclaredAt, default);

        var assigned = await Task.WhenAll(Ledger.AssignKeyAsync(second, default), Ledger.AssignKeyAsync(first, default), Ledger.AssignKeyAsync(second, default));

        Assert.Equal(assigned[0], assigned[2]);
        Assert.Equal([1, 2], assigned.Distinct().Order().ToArray());
    }

    [Fact]
    public async Task AcknowledgeAndResolve_SeveralAlertsAtSeveralPagers_ReachEveryAlertOnce()
    {
        var incident = await _fixture.DeclareAsync();
        foreach (var step in new[] { Step(incident.DeclaredAt), Step(incident.DeclaredAt, level: 2) with { Targets = [Pagers.PagerDuty] } })
        {
            await Paging.PageAsync(incident, step, await KeyOfAsync(incident, step), default);
        }

        await Paging.AcknowledgeAsync(incident, incident.DeclaredAt.AddMinutes(1), default);
        await Paging.AcknowledgeAsync(incident, incident.DeclaredAt.AddMinutes(1), default);
        Assert.All(_fixture.PagerDuty.Book.Alerts, a => Assert.Equal(FakeAlertStatus.Acknowledged, a.Status));
        Assert.Equal(2, _fixture.PagerDuty.Book.Alerts.Count);
        Assert.Equal(FakeAlertStatus.Acknowledged, Assert.Single(_fixture.Opsgenie.Book.Alerts).Status);
        await Paging.ResolveAsync(incident, incident.DeclaredAt.AddMinutes(2), default);

        Assert.All(_fixture.PagerDuty.Book.Alerts, a => Assert.Equal(FakeAlertStatus.Resolved, a.Status));
        Assert.Equal(FakeAlertStatus.Resolved, Assert.Single(_fixture.Opsgenie.Book.Alerts).Status);
        var actions = _fixture.PagerDuty.Events.GroupBy(e => (string)e["event_action"]!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal((2, 2, 2), (actions["trigger"], actions["acknowledge"], actions["resolve"]));
        Assert.Single(_fixture.Webhook.Requests, r => r.Body.Contains("incident.resolved", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PageAsync_PagerRejects_RecordsFailureInLedgerAndTimeline()
    {
        var incident = await _fixture.DeclareAsync();
        _fixture.PagerDuty.Script(new ScriptedResponse(400, """{"status":"invalid event","message":"Event object is invalid","errors":["bad"]}"""));

        await Paging.PageAsync(incident, Step(incident.DeclaredAt), FirstKey(incident), default);

        var row = Assert.Single(await Ledger.ListAsync(incident.Id, default), r => r.Target == Pagers.PagerDuty);
        Assert.Equal(PageLedger.Failed, row.Status);
        Assert.Contains("400", row.Error);
        var timeline = await Store.GetTimelineAsync(incident.Id, default);
        Assert.Contains(timeline, e => e.Kind == TimelineKind.Page && e.Text.StartsWith("Paging via pagerduty failed", StringComparison.Ordinal));
        Assert.Contains(timeline, e => e.Kind == TimelineKind.Page && e.Text.StartsWith("opsgenie accepted the page for level 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResolveAsync_AfterPage_ResolvesOnlyPagersThatWerePagedAndOnce()
    {
        var incident = await _fixture.DeclareAsync();
        await Paging.PageAsync(incident, new EscalationStep(1, 0, [Pagers.PagerDuty, Pagers.Opsgenie], "paged", incident.DeclaredAt), FirstKey(incident), default);
        var resolvedAt = incident.DeclaredAt.AddMinutes(3);

        await Paging.ResolveAsync(incident, resolvedAt, default);
        await Paging.ResolveAsync(incident, resolvedAt, default);

        Assert.Equal(["trigger", "resolve"], _fixture.PagerDuty.Events.Select(e => (string)e["event_action"]!).ToArray());
        Assert.Contains(_fixture.Opsgenie.Requests, r => r.Path.EndsWith("/close", StringComparison.Ordinal));
        Assert.Empty(_fixture.Webhook.Requests);
    }

    [Fact]
    public async Task AcknowledgeAsync_NothingPaged_SendsNothing()
    {
        var incident = await _fixture.DeclareAsync();

        await Paging.AcknowledgeAsync(incident, incident.DeclaredAt.AddMinutes(1), default);

        Assert.Empty(_fixture.PagerDuty.Requests);
        Assert.Empty(_fixture.Opsgenie.Requests);
    }

    [Fact]
    public async Task TryClaimAsync_ClaimHeldBySenderThatDied_IsTakenOverOnlyAfterTheLease()
    {
        var incident = await _fixture.DeclareAsync();
        var clock = After(incident);
        await using var services = _fixture.CreateServices(clock: clock);
        var ledger = services.GetRequiredService<PageLedger>();
        var key = new PageKey(incident.Id, "trigger", 1, 0, 42, Pagers.PagerDuty);

        Assert.Equal(1, await ledger.TryClaimAsync(key, "declared at SEV1", "incidentbot-INC-1", TimeSpan.FromMilliseconds(300), default));
        clock.Advance(TimeSpan.FromMilliseconds(299));
        Assert.Null(await ledger.TryClaimAsync(key, null, null, TimeSpan.FromMinutes(1), default));
        clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.Equal(2, await ledger.TryClaimAsync(key, null, null, TimeSpan.FromMinutes(1), default));
        Assert.False(await ledger.RenewAsync(key, 1, TimeSpan.FromMinutes(1), default));
        Assert.True(await ledger.CompleteAsync(key, PageLedger.Sent, null, 2, default));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await ledger.TryClaimAsync(key, null, null, TimeSpan.FromMilliseconds(1), default));
        var row = await ledger.GetAsync(key, default);
        Assert.Equal(("declared at SEV1", "incidentbot-INC-1", 2), (row!.Reason, row.DedupKey, row.Attempts));
    }

    [Fact]
    public async Task PageAsync_RetryAfterIsAnHttpDateAlreadyPast_SentOnTheNextTry()
    {
        var incident = await _fixture.DeclareAsync();
        _fixture.PagerDuty.Script(new ScriptedResponse(429, """{"status":"throttled"}""", DateTimeOffset.UtcNow.AddMinutes(-5).ToString("R")));

        await Paging.PageAsync(incident, Step(incident.DeclaredAt), FirstKey(incident), default);

        Assert.Equal(2, _fixture.PagerDuty.Requests.Count);
        Assert.Equal(PageLedger.Sent, (await Ledger.ListAsync(incident.Id, default)).Single(r => r.Target == Pagers.PagerDuty).Status);
    }

    [Fact]
    public async Task PageAsync_RetryAfterAnHourAway_WaitsNoLongerThanMaxRetryDelay()
    {
        var incident = await _fixture.DeclareAsync();
        _fixture.PagerDuty.Script(new ScriptedResponse(429, """{"status":"throttled"}""", "3600"));

        await Paging.PageAsync(incident, Step(incident.DeclaredAt), FirstKey(incident), default);

        var requests = _fixture.PagerDuty.Requests;
        Assert.Equal(2, requests.Count);
        Assert.InRange(requests[1].ReceivedAt - requests[0].ReceivedAt, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task PageAsync_ClaimHeldBySenderThatThenDies_SentAgainUnderTheSameKeysWhenItsClaimRunsOut()
    {
        await using var services = _fixture.CreateServices(FastClaims);
        var incident = await _fixture.DeclareAsync();
        var step = Step(incident.DeclaredAt) with { Targets = [Pagers.PagerDuty, Pagers.Webhook] };
        _fixture.PagerDuty.Hold();
        _fixture.Webhook.Hold();
        using var dies = new CancellationTokenSource();
        var first = services.GetRequiredService<PagingService>().PageAsync(incident, step, FirstKey(incident), dies.Token);
        await _fixture.PagerDuty.WaitForAsync(1);
        await _fixture.Webhook.WaitForAsync(1);

        // A second firing of the step finds the pages claimed; then the first sender dies mid-request.
        await services.GetRequiredService<PagingService>().PageAsync(incident, step, FirstKey(incident), default);
        await dies.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        _fixture.PagerDuty.Release();
        _fixture.Webhook.Release();
        var sweeper = services.GetRequiredService<PageSweeper>();
        await sweeper.StartAsync(default);
        try
        {
            await WaitUntilAsync(async () => (await Ledger.ListAsync(incident.Id, default)).All(r => r.Status == PageLedger.Sent)
                && (await Store.GetTimelineAsync(incident.Id, default)).Count(e => e.Text.Contains("accepted the page", StringComparison.Ordinal)) == 2);
        }
        finally
        {
            await sweeper.StopAsync(default);
        }

        Assert.Equal(2, _fixture.PagerDuty.Requests.Count);
        Assert.All(_fixture.PagerDuty.Events, e => Assert.Equal($"incidentbot-{incident.Number}", (string?)e["dedup_key"]));
        Assert.Equal(2, _fixture.Webhook.Requests.Count);
        Assert.Single(_fixture.Webhook.Requests.Select(r => r.Headers["webhook-id"]).Distinct());
        var timeline = await Store.GetTimelineAsync(incident.Id, default);
        Assert.Single(timeline, e => e.Text.StartsWith("pagerduty accepted the page for level 1", StringComparison.Ordinal));
        Assert.All(await Ledger.ListAsync(incident.Id, default), r => Assert.Equal(2, r.Attempts));
    }

    [Fact]
    public async Task PageAsync_ProviderSlowerThanTheClaimLease_ClaimRenewedAndSentOnce()
    {
        var incident = await _fixture.DeclareAsync();
        var clock = After(incident);
        await using var services = _fixture.CreateServices(FastClaims, clock);
        var ledger = services.GetRequiredService<PageLedger>();
        var sweeper = services.GetRequiredService<PageSweeper>();
        await sweeper.StartAsync(default);
        try
        {
            _fixture.PagerDuty.Hold();
            var paging = services.GetRequiredService<PagingService>().PageAsync(incident, Step(incident.DeclaredAt) with { Targets = [Pagers.PagerDuty] }, FirstKey(incident), default);
            await _fixture.PagerDuty.WaitForAsync(1);
            // Two and a half leases pass while the provider holds the request; after each renewal turn the claim
            // reaches past the clock, so the sweeper never finds it run out.
            for (var turn = 0; turn < 8; turn++)
            {
                clock.Advance(FastClaimLease / 3);
                await Eventually.HoldsAsync(
                    async () => (await ledger.ListAsync(incident.Id, default)).Single().ClaimedUntil > clock.GetUtcNow() + (FastClaimLease / 2),
                    "the claim renewed");
                await services.GetRequiredService<PageSweeper>().SweepAsync(default);
            }

            _fixture.PagerDuty.Release();
            await paging;
        }
        finally
        {
            await sweeper.StopAsync(default);
        }

        Assert.Single(_fixture.PagerDuty.Requests);
        Assert.Equal((PageLedger.Sent, 1), (await Ledger.ListAsync(incident.Id, default)).Select(r => (r.Status, r.Attempts)).Single());
    }

    [Fact]
    public async Task ResumeAsync_IncidentAcknowledgedSinceThePageWasClaimed_NotSentAgainAndSaysSo()
    {
        var incident = await _fixture.DeclareAsync();
        var key = new PageKey(incident.Id, "trigger", 1, 0, PagingService.Generation(incident.DeclaredAt), Pagers.PagerDuty);
        var clock = After(incident);
        await using var services = _fixture.CreateServices(clock: clock);
        var ledger = services.GetRequiredService<PageLedger>();
        await ledger.TryClaimAsync(key, "declared at SEV1", null, TimeSpan.FromMilliseconds(1), default);
        clock.Advance(TimeSpan.FromSeconds(1));
        await services.GetRequiredService<IncidentService>().AcknowledgeAsync(incident.Number, PagerFixture<TDatabase>.Ann, default);
        clock.Advance(TimeSpan.FromMilliseconds(2));

        await services.GetRequiredService<PageSweeper>().SweepAsync(default);

        Assert.Empty(_fixture.PagerDuty.Requests);
        Assert.Equal(PageLedger.Stopped, (await ledger.GetAsync(key, default))!.Status);
        Assert.Contains(await Store.GetTimelineAsync(incident.Id, default), e => e.Text.StartsWith("The pagerduty page for level 1 was not sent again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ResumeAsync_PageTakenOverTooOften_FailsWithTimelineEntry()
    {
        var incident = await _fixture.DeclareAsync();
        var key = new PageKey(incident.Id, "trigger", 1, 0, PagingService.Generation(incident.DeclaredAt), Pagers.PagerDuty);
        var clock = After(incident);
        await using var services = _fixture.CreateServices(clock: clock);
        var ledger = services.GetRequiredService<PageLedger>();
        for (var i = 0; i < PagingService.MaxClaims; i++)
        {
            Assert.NotNull(await ledger.TryClaimAsync(key, "declared at SEV1", null, TimeSpan.FromMilliseconds(1), default));
            clock.Advance(TimeSpan.FromMilliseconds(2));
        }

        await services.GetRequiredService<PageSweeper>().SweepAsync(default);

        Assert.Empty(_fixture.PagerDuty.Requests);
        var row = (await ledger.GetAsync(key, default))!;
        Assert.Equal(PageLedger.Failed, row.Status);
        Assert.Contains(await Store.GetTimelineAsync(incident.Id, default), e => e.Text.StartsWith("Paging via pagerduty failed (trigger)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SweepAsync_NoClaimRunOut_OneCommandReturnsTheNextExpiry()
    {
        var incident = await _fixture.DeclareAsync();
        var key = new PageKey(incident.Id, "trigger", 1, 0, PagingService.Generation(incident.DeclaredAt), Pagers.PagerDuty);
        var clock = After(incident);
        await using var services = _fixture.CreateServices(clock: clock);
        await services.GetRequiredService<PageLedger>().TryClaimAsync(key, "declared at SEV1", null, TimeSpan.FromMinutes(1), default);
        var sweeper = services.GetRequiredService<PageSweeper>();

        var commands = new PostgresCommandCount();
        DateTimeOffset? next;
        using (commands)
        {
            next = await sweeper.SweepAsync(default);
        }

        Assert.Equal(clock.GetUtcNow() + TimeSpan.FromMinutes(1), next);
        Assert.Empty(_fixture.PagerDuty.Requests);
        if (typeof(TDatabase) == typeof(PostgresTestDatabase))
        {
            Assert.Single(commands.Commands);
        }
    }

    /// <summary>A fake clock a second after the incident was declared (on the real one), moving only when advanced.</summary>
    private static FakeTimeProvider After(Incident incident) => new(incident.DeclaredAt.AddSeconds(1));

    private static readonly TimeSpan FastClaimLease = TimeSpan.FromSeconds(1);

    private static readonly Dictionary<string, string?> FastClaims = new() { ["Paging:ClaimLease"] = "00:00:01", ["Paging:SweepInterval"] = "00:00:01" };

    private static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.HoldsAsync(condition);
}

public sealed class SqlitePagingServiceTests : PagingServiceTests<SqliteTestDatabase>;

public sealed class PostgresPagingServiceTests : PagingServiceTests<PostgresTestDatabase>;
