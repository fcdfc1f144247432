using System.Collections.Concurrent;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IncidentBot.Scheduling.Tests;

/// <summary>The real host (Program) on a test database with second-scale cadences, recording the events the front-ends would post.</summary>
public sealed class SchedulingHost(TestDatabase database, IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public RecordingHandler Events { get; } = new();

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
            services?.Invoke(s);
        });
    }

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Incident incident) => await Store.GetTimelineAsync(incident.Id, default);
}

/// <summary>Every event delivered by the outbox, with the time it arrived.</summary>
public sealed class RecordingHandler : IIncidentEventHandler
{
    public string Name => "recording";

    private readonly ConcurrentQueue<(IncidentEvent Event, DateTimeOffset At)> _events = new();

    public IReadOnlyList<(IncidentEvent Event, DateTimeOffset At)> All => _events.ToArray();

    public Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        _events.Enqueue((incidentEvent, DateTimeOffset.UtcNow));
        return Task.CompletedTask;
    }

    public IReadOnlyList<(T Event, DateTimeOffset At)> Of<T>(IncidentNumber number)
        where T : IncidentEvent =>
        All.Where(e => e.Event is T && e.Event.Number == number).Select(e => ((T)e.Event, e.At)).ToList();

    public async Task<IReadOnlyList<(T Event, DateTimeOffset At)>> WaitForAsync<T>(IncidentNumber number, int count = 1, TimeSpan? timeout = null)
        where T : IncidentEvent
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var found = Of<T>(number);
            if (found.Count >= count || DateTime.UtcNow > deadline)
            {
                return found;
            }

            await Task.Delay(50);
        }
    }
}
