using System.Collections.Concurrent;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Quartz;

namespace IncidentBot.Scheduling.Tests;

/// <summary>
/// The real host (Program) on a test database, recording the events the front-ends would post. Given a
/// <paramref name="clock"/>, the whole host (Quartz included) runs on it: time moves only when the test advances it.
/// </summary>
public sealed class SchedulingHost(
    TestDatabase database, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null, FakeTimeProvider? clock = null)
    : WebApplicationFactory<Program>
{
    public RecordingHandler Events { get; } = new(clock ?? TimeProvider.System);

    public IncidentService Incidents => Services.GetRequiredService<IncidentService>();

    public IIncidentStore Store => Services.GetRequiredService<IIncidentStore>();

    /// <summary>Everything the host logged.</summary>
    public FakeLogCollector Logs => Services.GetFakeLogCollector();

    /// <summary>Serves the host on Kestrel on a loopback port (real HTTP), for callers outside the process such as the pager fakes.</summary>
    public Uri StartOnLoopback()
    {
        UseKestrel();
        StartServer();
        return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>
    /// Moves the host's clock on and waits until the host has done everything due by then: every timer due has fired
    /// and finished, and every event raised meanwhile is delivered. What has not happened then does not happen at this time.
    /// </summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Assert.NotNull(clock);
        clock.Advance(by);
        await SettledAsync();
    }

    /// <summary>
    /// Waits until no timer is due or firing and the outbox has delivered every event, and that state has held, unchanged
    /// (the same timers, no new event), over a few polls: a job or a delivery can set the next timer or raise the next
    /// event a moment after the host last looked busy, so one quiet look is not enough.
    /// </summary>
    public async Task SettledAsync()
    {
        const int QuietLooks = 3;
        var time = Services.GetRequiredService<TimeProvider>();
        var scheduler = await Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        string? last = null;
        var quiet = 0;
        await Eventually.HoldsAsync(
            async () =>
            {
                var state = await QuietStateAsync(scheduler, time.GetUtcNow());
                quiet = state is not null && state == last ? quiet + 1 : state is null ? 0 : 1;
                last = state;
                return quiet >= QuietLooks;
            },
            "the host settling (timers due fired, events delivered)",
            every: TimeSpan.FromMilliseconds(50));
    }

    /// <summary>The timers set and the last event, when nothing is due, firing or undelivered; null while something is.</summary>
    private async Task<string?> QuietStateAsync(IScheduler scheduler, DateTimeOffset now)
    {
        // Firings are durable records: one that has started is listed until its job is done.
        if ((await scheduler.QueryFireInstances(new FireInstanceQuery())).Items.Count > 0)
        {
            return null;
        }

        // A one-shot trigger that has fired has no next fire time until its job is done and it goes.
        var triggers = (await scheduler.QueryTriggers(new TriggerQuery { Group = GroupMatcher<TriggerKey>.GroupEquals(IncidentTimers.Group) })).Items;
        if (!triggers.All(t => t.NextFireTimeUtc is { } next && next > now))
        {
            return null;
        }

        const string OutboxSql =
            """
            SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL)
                + (SELECT count(*) FROM outbox_deliveries WHERE done_at IS NULL AND failed_at IS NULL) AS Pending,
                (SELECT coalesce(max(id), 0) FROM outbox) AS LastEvent
            """;
        await using var connection = await Services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
        var outbox = await connection.QuerySingleAsync<(long Pending, long LastEvent)>(OutboxSql);
        if (outbox.Pending > 0)
        {
            return null;
        }

        var timers = triggers.Select(t => $"{t.Key}@{t.NextFireTimeUtc:O}").Order(StringComparer.Ordinal);
        return $"{outbox.LastEvent};{string.Join(',', timers)}";
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseUrls("http://127.0.0.1:0");
        builder.ConfigureLogging(logging => logging.AddFakeLogging());
        var all = new Dictionary<string, string?>(database.Configuration)
        {
            // Quartz keeps schedulers in a process-wide repository by name; each host in this process needs its own.
            ["Scheduler:Name"] = $"test-{Guid.NewGuid():N}",
            ["Scheduler:IdleWaitTime"] = "00:00:01",
            ["Reminders:CommanderMissingAfter"] = "",
            ["Escalation:PageSeverities:0"] = "none",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        foreach (var (key, value) in all)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(s =>
        {
            s.AddSingleton<IIncidentEventHandler>(Events);
            if (clock is not null)
            {
                s.AddSingleton<TimeProvider>(clock);
            }

            services?.Invoke(s);
        });
    }

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Incident incident) => await Store.GetTimelineAsync(incident.Id, default);
}

/// <summary>Every event delivered by the outbox, with the time (on the host's clock) it arrived.</summary>
public sealed class RecordingHandler(TimeProvider time) : IIncidentEventHandler
{
    public string Name => "recording";

    private readonly ConcurrentQueue<(IncidentEvent Event, DateTimeOffset At)> _events = new();

    public IReadOnlyList<(IncidentEvent Event, DateTimeOffset At)> All => _events.ToArray();

    public Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        _events.Enqueue((incidentEvent, time.GetUtcNow()));
        return Task.CompletedTask;
    }

    public IReadOnlyList<(T Event, DateTimeOffset At)> Of<T>(IncidentNumber number)
        where T : IncidentEvent =>
        All.Where(e => e.Event is T && e.Event.Number == number).Select(e => ((T)e.Event, e.At)).ToList();

    public async Task<IReadOnlyList<(T Event, DateTimeOffset At)>> WaitForAsync<T>(IncidentNumber number, int count = 1, TimeSpan? timeout = null)
        where T : IncidentEvent
    {
        await Eventually.HoldsAsync(() => Of<T>(number).Count >= count, $"{count} {typeof(T).Name} of {number}", timeout).ConfigureAwait(false);
        return Of<T>(number);
    }
}
