using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace IncidentBot.Tests;

/// <summary>The host end to end over HTTP, run once on SQLite and once on PostgreSQL.</summary>
public abstract class HostTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private readonly TDatabase _database = new();
    private readonly RecordingHandler _events = new();
    private BotFactory _factory = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _factory = new BotFactory(_database, services: s => s.AddSingleton<IIncidentEventHandler>(_events));
        _ = _factory.Server; // start the host
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _database.DisposeAsync();
    }

    private static readonly Actor Ann = new(new Person("chat", "U1", "Ann"), new ChatSpace("chat", "C-origin"));

    private IncidentService Incidents => _factory.Services.GetRequiredService<IncidentService>();

    [Fact]
    public async Task Healthz_Always_Returns200()
    {
        var response = await _factory.CreateClient().GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readyz_StoreAndSchedulerUp_Returns200WithChecks()
    {
        // Quartz starts its scheduler once the host has started, so right after the start /readyz may still say 503.
        var client = _factory.CreateClient();
        HttpResponseMessage response = null!;
        await Eventually.HoldsAsync(
            async () => (response = await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK, "/readyz to answer 200");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("database").GetString());
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("scheduler").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic dGVzdDp0ZXN0")]
    [InlineData("Bearer ")]
    public async Task Api_WithoutValidToken_Returns401(string? authorization)
    {
        var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/incidents");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task GetIncident_Declared_ReturnsDocumentedShape()
    {
        var declared = await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev1), Ann, default);
        var number = declared.Incident.Number;
        await Incidents.AssignRoleAsync(number, IncidentRole.Commander, new Person("chat", "U2", "Bo"), Ann, default);
        await Incidents.LinkWarRoomAsync(number, new ChatSpace("chat", "C-war"), Ann, default);

        using var json = await GetJsonAsync($"/api/incidents/{number}");
        var incident = json.RootElement;
        Assert.Equal(
            ["number", "title", "severity", "status", "declaredAt", "acknowledgedAt", "mitigatedAt", "resolvedAt", "nextUpdateDueAt", "roles", "warRooms", "description", "summary", "declaredBy"],
            incident.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal(number.ToString(), incident.GetProperty("number").GetString());
        Assert.Equal("SEV1", incident.GetProperty("severity").GetString());
        Assert.Equal("investigating", incident.GetProperty("status").GetString());
        Assert.EndsWith("Z", incident.GetProperty("declaredAt").GetString());
        Assert.Equal(JsonValueKind.Null, incident.GetProperty("acknowledgedAt").ValueKind);
        var due = DateTimeOffset.Parse(incident.GetProperty("nextUpdateDueAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var declaredAt = DateTimeOffset.Parse(incident.GetProperty("declaredAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromMinutes(15), due - declaredAt);

        var roles = incident.GetProperty("roles");
        Assert.Equal(["ic", "lead", "comms", "scribe"], roles.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("U2", roles.GetProperty("ic").GetProperty("userId").GetString());
        Assert.Equal("Bo", roles.GetProperty("ic").GetProperty("name").GetString());
        Assert.Equal("chat", roles.GetProperty("ic").GetProperty("platform").GetString());
        Assert.Equal(JsonValueKind.Null, roles.GetProperty("lead").ValueKind);

        var room = Assert.Single(incident.GetProperty("warRooms").EnumerateArray());
        Assert.Equal("chat", room.GetProperty("platform").GetString());
        Assert.Equal("C-war", room.GetProperty("channel").GetString());
    }

    [Fact]
    public async Task GetIncident_ByBareNumber_FindsIt()
    {
        var declared = await Incidents.DeclareAsync(new DeclareRequest("Queue backlog", Severity.Sev3), Ann, default);
        using var json = await GetJsonAsync($"/api/incidents/{declared.Incident.Number.Value}");
        Assert.Equal(declared.Incident.Number.ToString(), json.RootElement.GetProperty("number").GetString());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("nextUpdateDueAt").ValueKind);
    }

    [Fact]
    public async Task GetTimeline_WithCapturedAndPinnedMessage_ReturnsEntriesInShape()
    {
        var declared = await Incidents.DeclareAsync(new DeclareRequest("Checkout is down", Severity.Sev2), Ann, default);
        var number = declared.Incident.Number;
        var room = new ChatSpace("chat", "C-tl");
        await Incidents.LinkWarRoomAsync(number, room, Ann, default);
        await Incidents.PostUpdateAsync(number, "Rollback in progress", Ann, default);

        // Captured late (a redelivery, say) but posted before the update: it sorts by its original time.
        var timelineSoFar = await _factory.Services.GetRequiredService<IIncidentStore>().GetTimelineAsync(declared.Incident.Id, default);
        var posted = timelineSoFar[1].OccurredAt.AddTicks(10);
        var source = new MessageRef("chat", room.Channel, "1700000000.000100");
        await Incidents.CaptureMessageAsync(new CapturedMessage(source, new Person("chat", "U3", "Cy"), "rolling back deploy 42", posted), default);
        await Incidents.SetPinnedAsync(source, true, null, default);

        using var json = await GetJsonAsync($"/api/incidents/{number}/timeline");
        var entries = json.RootElement.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["system", "system", "message", "update"], entries.Select(e => e.GetProperty("kind").GetString()!).ToArray());

        var message = entries[2];
        Assert.Equal(["id", "occurredAt", "kind", "author", "text", "pinned", "source"], message.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.Equal("Cy", message.GetProperty("author").GetString());
        Assert.True(message.GetProperty("pinned").GetBoolean());
        Assert.Equal("rolling back deploy 42", message.GetProperty("text").GetString());
        Assert.Equal(posted.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture), message.GetProperty("occurredAt").GetString()![..19]);
        Assert.EndsWith("Z", message.GetProperty("occurredAt").GetString());
        var sourceJson = message.GetProperty("source");
        Assert.Equal("chat", sourceJson.GetProperty("platform").GetString());
        Assert.Equal("C-tl", sourceJson.GetProperty("channel").GetString());
        Assert.Equal("1700000000.000100", sourceJson.GetProperty("messageId").GetString());

        Assert.Equal(JsonValueKind.Null, entries[3].GetProperty("source").ValueKind);
        Assert.False(entries[3].GetProperty("pinned").GetBoolean());
        Assert.Equal("Rollback in progress", entries[3].GetProperty("text").GetString());
    }

    [Fact]
    public async Task ListIncidents_OpenFilter_ReturnsNewestFirstAndOnlyOpen()
    {
        var first = await Incidents.DeclareAsync(new DeclareRequest("First", Severity.Sev3), Ann, default);
        var second = await Incidents.DeclareAsync(new DeclareRequest("Second", Severity.Sev2), Ann, default);
        var third = await Incidents.DeclareAsync(new DeclareRequest("Third", Severity.Sev4), Ann, default);
        await Incidents.ResolveAsync(second.Incident.Number, "fixed", Ann, default);

        using var all = await GetJsonAsync("/api/incidents");
        Assert.Equal(
            [third.Incident.Number.ToString(), second.Incident.Number.ToString(), first.Incident.Number.ToString()],
            all.RootElement.GetProperty("incidents").EnumerateArray().Select(i => i.GetProperty("number").GetString()!).ToArray());

        using var open = await GetJsonAsync("/api/incidents?status=open");
        Assert.Equal(
            [third.Incident.Number.ToString(), first.Incident.Number.ToString()],
            open.RootElement.GetProperty("incidents").EnumerateArray().Select(i => i.GetProperty("number").GetString()!).ToArray());
    }

    [Theory]
    [InlineData("/api/incidents/INC-999", HttpStatusCode.NotFound)]
    [InlineData("/api/incidents/not-a-number", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents/INC-999/timeline", HttpStatusCode.NotFound)]
    [InlineData("/api/incidents?status=sleeping", HttpStatusCode.BadRequest)]
    [InlineData("/api/incidents?limit=0", HttpStatusCode.BadRequest)]
    public async Task Api_BadOrUnknownInput_Returns4xxWithMessage(string path, HttpStatusCode expected)
    {
        var response = await _factory.CreateApiClient().GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(expected, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(json.RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Declare_InHost_DeliversEventThroughOutbox()
    {
        var declared = await Incidents.DeclareAsync(new DeclareRequest("Outbox check", Severity.Sev1), Ann, default);
        var delivered = await _events.WaitForAsync<IncidentDeclared>(e => e.Number == declared.Incident.Number, TimeSpan.FromSeconds(10));
        Assert.Equal("Outbox check", delivered.Title);
        Assert.Equal(declared.Incident.Id, delivered.IncidentId);
        Assert.Equal(Ann.Origin, delivered.Origin);
    }

    [Fact]
    public async Task Scheduler_PersistentStore_FiresAScheduledJob()
    {
        var scheduler = await _factory.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var key = Guid.NewGuid().ToString("N");
        var fired = ProbeJob.Expect(key);
        var job = JobBuilder.Create<ProbeJob>().WithIdentity(key).UsingJobData(ProbeJob.KeyName, key).Build();
        var trigger = TriggerBuilder.Create().WithIdentity(key).StartAt(DateTimeOffset.UtcNow.AddMilliseconds(300)).Build();
        await scheduler.ScheduleJob(job, trigger);

        Assert.Same(fired, await Task.WhenAny(fired, Task.Delay(TimeSpan.FromSeconds(15))));
    }

    private async Task<JsonDocument> GetJsonAsync(string path)
    {
        var response = await _factory.CreateApiClient().GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body);
    }
}

public sealed class SqliteHostTests : HostTests<SqliteTestDatabase>;

public sealed class PostgresHostTests : HostTests<PostgresTestDatabase>;

/// <summary>Collects delivered events so tests can wait for one.</summary>
public sealed class RecordingHandler : IIncidentEventHandler
{
    public string Name => "recording";

    private readonly ConcurrentQueue<IncidentEvent> _events = new();

    public Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        _events.Enqueue(incidentEvent);
        return Task.CompletedTask;
    }

    public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan timeout)
        where T : IncidentEvent
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_events.OfType<T>().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No {typeof(T).Name} arrived within {timeout}.");
    }
}

/// <summary>A job that completes a waiting task, to prove the scheduler fires from its persistent store.</summary>
public sealed class ProbeJob : IJob
{
    public const string KeyName = "probe";
    private static readonly ConcurrentDictionary<string, TaskCompletionSource> Waiting = new();

    public static Task Expect(string key) => Waiting.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (Waiting.TryGetValue(context.MergedJobDataMap.GetString(KeyName)!, out var waiting))
        {
            waiting.TrySetResult();
        }

        return ValueTask.CompletedTask;
    }
}
