using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.DependencyInjection;

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

    private static EscalationStep Step(DateTimeOffset startedAt, int level = 1, int loop = 0) =>
        new(level, loop, [Pagers.PagerDuty, Pagers.Opsgenie, Pagers.Webhook], "declared at SEV1", startedAt);

    [Fact]
    public async Task PageAsync_SameStepTwiceEvenConcurrently_SendsEachPagerOnce()
    {
        var incident = await _fixture.DeclareAsync();
        var step = Step(incident.DeclaredAt);

        await Task.WhenAll(Paging.PageAsync(incident, step, default), Paging.PageAsync(incident, step, default));
        await Paging.PageAsync(incident, step, default);

        Assert.Single(_fixture.PagerDuty.Requests);
        Assert.Single(_fixture.Opsgenie.Requests);
        Assert.Single(_fixture.Webhook.Requests);
        var rows = await Ledger.ListAsync(incident.Id, default);
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Equal(PageLedger.Sent, r.Status));
    }

    [Fact]
    public async Task PageAsync_NextLevelOrNewRun_PagesAgainUnderItsOwnKey()
    {
        var incident = await _fixture.DeclareAsync();

        await Paging.PageAsync(incident, Step(incident.DeclaredAt), default);
        await Paging.PageAsync(incident, Step(incident.DeclaredAt, loop: 1), default);
        await Paging.PageAsync(incident, Step(incident.DeclaredAt.AddMinutes(5)), default);

        Assert.Equal(3, _fixture.PagerDuty.Events.Count);
        Assert.All(_fixture.PagerDuty.Events, e => Assert.Equal($"incidentbot-{incident.Number}", (string?)e["dedup_key"]));
    }

    [Fact]
    public async Task PageAsync_PagerRejects_RecordsFailureInLedgerAndTimeline()
    {
        var incident = await _fixture.DeclareAsync();
        _fixture.PagerDuty.Script(new ScriptedResponse(400, """{"status":"invalid event","message":"Event object is invalid","errors":["bad"]}"""));

        await Paging.PageAsync(incident, Step(incident.DeclaredAt), default);

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
        await Paging.PageAsync(incident, new EscalationStep(1, 0, [Pagers.PagerDuty, Pagers.Opsgenie], "paged", incident.DeclaredAt), default);
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
        var key = new PageKey(incident.Id, "trigger", 1, 0, 42, Pagers.PagerDuty);

        Assert.True(await Ledger.TryClaimAsync(key, TimeSpan.FromMilliseconds(300), default));
        Assert.False(await Ledger.TryClaimAsync(key, TimeSpan.FromMinutes(1), default));
        await Task.Delay(400);
        Assert.True(await Ledger.TryClaimAsync(key, TimeSpan.FromMinutes(1), default));
        await Ledger.CompleteAsync(key, PageLedger.Sent, null, default);
        await Task.Delay(100);
        Assert.False(await Ledger.TryClaimAsync(key, TimeSpan.FromMilliseconds(1), default));
    }
}

public sealed class SqlitePagingServiceTests : PagingServiceTests<SqliteTestDatabase>;

public sealed class PostgresPagingServiceTests : PagingServiceTests<PostgresTestDatabase>;
