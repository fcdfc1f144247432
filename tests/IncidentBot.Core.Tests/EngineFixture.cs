using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
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

    protected PermissionOptions Permissions { get; } = new();

    /// <summary>Who the chat platform says is in which conversation (for <c>link</c>).</summary>
    protected FakeMembership Members { get; } = new();

    protected IncidentAccess Access => new(new FixedOptions<PermissionOptions>(Permissions), [Members], NullLogger<IncidentAccess>.Instance);

    protected CommandDispatcher Dispatcher => new(Incidents, Store, Access);

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

public sealed class FixedOptions<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

public sealed class FakeMembership : IWarRoomMembership
{
    private readonly HashSet<(string Channel, string User)> _members = [];

    public string Platform => "chat";

    public void Add(ChatSpace room, Person person) => _members.Add((room.Channel, person.UserId));

    public Task<bool?> IsMemberAsync(ChatSpace room, Person person, CancellationToken cancellationToken) =>
        Task.FromResult<bool?>(_members.Contains((room.Channel, person.UserId)));
}
