using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging.Tests;

/// <summary>What a pager's report does to an incident, and the receipts that make each report count once, on a real database.</summary>
public abstract class PagerReportTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private static readonly Person Ann = new(Pagers.PagerDuty, "PANN", "Ann");

    private readonly PagerFixture<TDatabase> _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    private IncidentService Incidents => _fixture.Services.GetRequiredService<IncidentService>();

    private InboundReceipts Receipts => _fixture.Services.GetRequiredService<InboundReceipts>();

    private static PagerReport Report(Incident incident, DateTimeOffset at, Person? by = null) => new("PagerDuty", $"incidentbot-{incident.Number}", by ?? Ann, at);

    [Fact]
    public async Task Acknowledge_AtThePagersTime_KeptBetweenDeclarationAndNow()
    {
        var early = await _fixture.DeclareAsync();
        var future = await _fixture.DeclareAsync();
        var inside = await _fixture.DeclareAsync();

        Assert.Equal(PagerReportOutcome.Applied, await Incidents.AcknowledgeFromPagerAsync(early.Number, Report(early, early.DeclaredAt.AddHours(-1)), default));
        Assert.Equal(PagerReportOutcome.Applied, await Incidents.AcknowledgeFromPagerAsync(future.Number, Report(future, DateTimeOffset.UtcNow.AddHours(1)), default));
        var at = inside.DeclaredAt.AddTicks(10);
        Assert.Equal(PagerReportOutcome.Applied, await Incidents.AcknowledgeFromPagerAsync(inside.Number, Report(inside, at), default));

        Assert.Equal(early.DeclaredAt, (await Incidents.GetAsync(early.Number, default)).AcknowledgedAt);
        Assert.InRange((await Incidents.GetAsync(future.Number, default)).AcknowledgedAt!.Value, future.DeclaredAt, DateTimeOffset.UtcNow);
        Assert.Equal(at, (await Incidents.GetAsync(inside.Number, default)).AcknowledgedAt);
    }

    [Fact]
    public async Task Acknowledge_AlreadyAcknowledgedResolvedOrMissing_SaysSo()
    {
        var acked = await _fixture.DeclareAsync();
        await Incidents.AcknowledgeAsync(acked.Number, PagerFixture<TDatabase>.Ann, default);
        var resolved = await _fixture.DeclareAsync();
        await Incidents.ResolveAsync(resolved.Number, null, PagerFixture<TDatabase>.Ann, default);

        Assert.Equal(PagerReportOutcome.NothingToDo, await Incidents.AcknowledgeFromPagerAsync(acked.Number, Report(acked, DateTimeOffset.UtcNow), default));
        Assert.Equal(PagerReportOutcome.NothingToDo, await Incidents.AcknowledgeFromPagerAsync(resolved.Number, Report(resolved, DateTimeOffset.UtcNow), default));
        Assert.Equal(PagerReportOutcome.NoSuchIncident, await Incidents.AcknowledgeFromPagerAsync(new IncidentNumber(999), Report(acked, DateTimeOffset.UtcNow), default));
        Assert.Null((await Incidents.GetAsync(resolved.Number, default)).AcknowledgedAt);
    }

    [Fact]
    public async Task Acknowledge_NobodyNamed_SaysWhereOnly()
    {
        var incident = await _fixture.DeclareAsync();

        await Incidents.AcknowledgeFromPagerAsync(incident.Number, new PagerReport("Opsgenie", "incidentbot-INC-1", null, DateTimeOffset.UtcNow), default);

        var timeline = await _fixture.Services.GetRequiredService<IIncidentStore>().GetTimelineAsync(incident.Id, default);
        Assert.Contains(timeline, e => e.Text == "Acknowledged in Opsgenie" && e.Author is null);
    }

    [Fact]
    public async Task Resolve_ToldToResolve_ResolvesAtThePagersTime()
    {
        var incident = await _fixture.DeclareAsync();
        var at = incident.DeclaredAt.AddTicks(20);

        Assert.Equal(PagerReportOutcome.Applied, await Incidents.ResolveFromPagerAsync(incident.Number, Report(incident, at), resolveIncident: true, default));
        Assert.Equal(PagerReportOutcome.NothingToDo, await Incidents.ResolveFromPagerAsync(incident.Number, Report(incident, at), resolveIncident: true, default));

        var resolved = await Incidents.GetAsync(incident.Number, default);
        Assert.Equal((IncidentStatus.Resolved, at, (DateTimeOffset?)null), (resolved.Status, resolved.ResolvedAt!.Value, resolved.NextUpdateDueAt));
    }

    [Fact]
    public async Task Receipts_SecondRecordRefusedUntilForgotten()
    {
        Assert.True(await Receipts.TryRecordAsync(Webhook("PagerDuty", "E1"), default));
        Assert.False(await Receipts.TryRecordAsync(Webhook("PagerDuty", "E1"), default));
        Assert.True(await Receipts.TryRecordAsync(Webhook("Opsgenie", "E1"), default));

        await Receipts.ForgetAsync(Webhook("PagerDuty", "E1"), default);
        Assert.True(await Receipts.TryRecordAsync(Webhook("PagerDuty", "E1"), default));
    }

    private static InboundReceipt Webhook(string pager, string eventId) => InboundReceipt.Of(PagingTables.WebhookReceipts, pager, eventId);

    [Fact]
    public async Task Receipts_PrunedAfterRetentionAge_NotAfterTheShorterReceiptAge()
    {
        // A receipt must outlive Paging:PagerDuty:WebhookMaxAge (a replay younger than that is not refused as stale).
        var clock = TestClock.StartingNow();
        await using var services = _fixture.CreateServices(clock: clock);
        var receipts = services.GetRequiredService<InboundReceipts>();
        await receipts.TryRecordAsync(Webhook("PagerDuty", "E-old"), default);
        var pruner = new RetentionPruner(
            services.GetRequiredService<IDbConnectionFactory>(), [PagingTables.Set], clock, Options.Create(new RetentionOptions()), NullLogger<RetentionPruner>.Instance);

        clock.Advance(new RetentionOptions().ReceiptAge + TimeSpan.FromHours(1));
        Assert.False((await pruner.PruneAsync(default)).Deleted.TryGetValue("inbound_receipts:pager-webhooks", out var early) && early > 0);
        Assert.False(await receipts.TryRecordAsync(Webhook("PagerDuty", "E-old"), default));

        clock.Advance(new RetentionOptions().Age);
        Assert.Equal(1, (await pruner.PruneAsync(default)).Deleted["inbound_receipts:pager-webhooks"]);
        Assert.True(await receipts.TryRecordAsync(Webhook("PagerDuty", "E-old"), default));
    }
}

public sealed class SqlitePagerReportTests : PagerReportTests<SqliteTestDatabase>;

public sealed class PostgresPagerReportTests : PagerReportTests<PostgresTestDatabase>;
