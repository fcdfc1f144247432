using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core.Tests;

/// <summary>The engine on a real (SQLite) store with a clock that moves only when told.</summary>
public abstract class EngineTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private ServiceProvider? _services;

    protected static readonly Person Ann = new("chat", "U-ANN", "Ann");
    protected static readonly Person Bo = new("chat", "U-BO", "Bo");
    protected static readonly Person Cy = new("chat", "U-CY", "Cy");
    protected static readonly ChatSpace General = new("chat", "C-GENERAL");
    protected static readonly Actor AsAnn = new(Ann, General);

    protected ManualClock Clock { get; } = new(new DateTimeOffset(2026, 11, 20, 23, 50, 0, TimeSpan.Zero));

    protected IIncidentStore Store => _services!.GetRequiredService<IIncidentStore>();

    protected IOutbox Outbox => _services!.GetRequiredService<IOutbox>();

    protected IncidentService Incidents { get; private set; } = null!;

    protected CommandDispatcher Dispatcher => new(Incidents, Store);

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _services = _database.CreateServices(b => b.Services.AddSingleton<TimeProvider>(Clock));
        Incidents = new IncidentService(Store, Clock, Options.Create(new UpdateCadence()), new OutboxSignal(), NullLogger<IncidentService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _services!.DisposeAsync();
        await _database.DisposeAsync();
    }

    protected async Task<Incident> DeclareAsync(Severity severity = Severity.Sev1, string title = "Checkout is down") =>
        (await Incidents.DeclareAsync(new DeclareRequest(title, severity), AsAnn, default)).Incident;

    protected async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Incident incident) =>
        await Store.GetTimelineAsync(incident.Id, default);
}
