using IncidentBot.TestKit;
using System.Data.Common;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

/// <summary>
/// The behaviour every store must have, run against each provider by a subclass. Each test gets a fresh,
/// migrated database and a fake clock whose time has sub-microsecond digits, so every test also checks
/// that stored times come back truncated to the microsecond.
/// </summary>
public abstract partial class IncidentStoreContract : IAsyncLifetime
{
    protected static readonly Person Alice = new("slack", "U0ALICE", "Alice");
    protected static readonly Person Bob = new("slack", "U0BOB", "Bob");
    protected static readonly Person Carol = new("teams", "29:carol", "Carol");
    protected static readonly ChatSpace Origin = new("slack", "C0GENERAL");
    protected static readonly ChatSpace Room1 = new("slack", "C0INC1");
    protected static readonly ChatSpace Room2 = new("teams", "19:room2@thread.tacv2");
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    private ServiceProvider? _services;
    private TestDatabase? _database;

    protected static DateTimeOffset Start { get; } = new DateTimeOffset(2025, 3, 14, 9, 26, 53, TimeSpan.Zero).AddTicks(5_358_979);

    protected static CancellationToken None => CancellationToken.None;

    protected ManualClock Clock { get; } = new(Start);

    protected TestDatabase Database => _database ?? throw new InvalidOperationException("Not initialized.");

    protected ServiceProvider Services => _services ?? throw new InvalidOperationException("Not initialized.");

    protected IIncidentStore Store => Services.GetRequiredService<IIncidentStore>();

    protected IOutbox Outbox => Services.GetRequiredService<IOutbox>();

    protected IncidentService Incidents => new(Store, Clock, Options.Create(new UpdateCadence()), Signal, NullLogger<IncidentService>.Instance);

    protected OutboxSignal Signal { get; } = new();

    protected static Actor AsAlice { get; } = new(Alice, Origin);

    /// <summary>A new, not yet initialized database of the provider under test.</summary>
    protected abstract TestDatabase CreateDatabase(bool migrate);

    public async Task InitializeAsync()
    {
        _database = CreateDatabase(migrate: true);
        await _database.InitializeAsync();
        _services = CreateServices(_database);
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        Signal.Dispose();
    }

    /// <summary>Another set of services on <paramref name="database"/>, as a second bot instance would have.</summary>
    protected ServiceProvider CreateServices(TestDatabase database) =>
        database.CreateServices(builder => builder.Services.AddSingleton<TimeProvider>(Clock));

    protected DateTimeOffset Now => Clock.GetUtcNow();

    /// <summary>
    /// A note with its <see cref="NoteAdded"/> event appended straight through the store. The service queues no notes
    /// (timeline-only, decision 12), but the outbox's contract holds for any event, and the outbox tests need a frequent
    /// one that keeps its order behind the declare.
    /// </summary>
    protected async Task AppendNoteAsync(IncidentNumber number, string text)
    {
        var now = Now;
        Assert.True(await Store.AppendAsync(
            number, [new(now, TimelineKind.Note, Alice, text)], [new NoteAdded(text) { Number = number, OccurredAt = now, Actor = Alice, Origin = AsAlice.Origin }], None));
    }

    protected async Task<Incident> DeclareAsync(
        string title = "Checkout is failing", Severity severity = Severity.Sev2, Person? commander = null, ChatSpace? warRoom = null)
    {
        var request = new DeclareRequest(title, severity) { Commander = commander, WarRoom = warRoom };
        return (await Incidents.DeclareAsync(request, AsAlice, None)).Incident;
    }

    /// <summary>What a front-end would store for a new incident, built without <see cref="IncidentService"/>.</summary>
    protected IncidentChange NewIncident(IncidentNumber number, string title, DateTimeOffset? declaredAt = null)
    {
        var at = declaredAt ?? Now;
        var incident = Incident.Declare(number, title, null, Severity.Sev3, Alice, at, new UpdateCadence());
        return new IncidentChange(
            incident,
            [new NewTimelineEntry(at, TimelineKind.System, Alice, $"Alice declared {number}")],
            [new IncidentDeclared(title, Severity.Sev3, []) { Number = number, OccurredAt = at, Actor = Alice }]);
    }

    protected async Task<T> QueryScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.ExecuteScalarAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: None)))!;
    }

    protected async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: None))).ToList();
    }

    protected async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: None));
    }

    protected async Task<DbConnection> OpenAsync() =>
        await Services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None);

    /// <summary>Stored times are the written time truncated to whole microseconds, in UTC.</summary>
    protected static void AssertStoredTime(DateTimeOffset written, DateTimeOffset? stored)
    {
        Assert.NotNull(stored);
        Assert.Equal(TimeSpan.Zero, stored.Value.Offset);
        Assert.Equal(written.UtcTicks - (written.UtcTicks % 10), stored.Value.UtcTicks);
    }
}
