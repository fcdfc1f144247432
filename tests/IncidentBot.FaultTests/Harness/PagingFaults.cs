using System.Data.Common;
using System.Net;
using Dapper;
using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using IncidentBot.TestKit.Processes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace IncidentBot.FaultTests.Harness;

/// <summary>A database on a <see cref="RestartablePostgres"/> server of the test's own, so the test may stop it or cut its connections.</summary>
public sealed class PrivatePostgresDatabase(RestartablePostgres server) : TestDatabase
{
    public override DatabaseProvider Provider => DatabaseProvider.Postgres;

    public RestartablePostgres Server => server;

    public string DatabaseName => new NpgsqlConnectionStringBuilder(ConnectionString).Database!;

    protected override Task<string> CreateAsync() => server.CreateDatabaseAsync();

    protected override Task DropAsync(string connectionString)
    {
        NpgsqlConnection.ClearAllPools();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The bot as a separate process (<see cref="BotProcess"/>) on a test database, with the fake PagerDuty, Opsgenie and
/// webhook receiver as its pagers and every interval compressed to seconds; killed with <c>kill -9</c> and started
/// again on the same database. The test process shares the database to declare incidents and read what happened.
/// </summary>
public sealed class PagingFaults : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    public static readonly Actor Ann = new(new Person("chat", "U1", "Ann"));

    private readonly Dictionary<string, string?> _environment;
    private readonly List<BotProcess> _stopped = [];

    private PagingFaults(TestDatabase database, ServiceProvider services, Dictionary<string, string?> environment)
    {
        Database = database;
        Services = services;
        _environment = environment;
    }

    public TestDatabase Database { get; }
    public FakePagerDuty PagerDuty { get; } = new();
    public FakeOpsgenie Opsgenie { get; } = new();
    public WebhookReceiver Webhook { get; } = new();

    /// <summary>The incident engine in the test process, on the bot's database (declares go to the bot through the outbox).</summary>
    public ServiceProvider Services { get; }

    public BotProcess Bot { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The bot's output across every start, for failure messages.</summary>
    public string Output => string.Join("\n--- restart ---\n", _stopped.Append(Bot).Where(b => b is not null).Distinct().Select(b => b.Output));

    /// <summary>
    /// Starts the fakes and the bot on <paramref name="database"/> (initialized by then). <paramref name="settings"/>
    /// (configuration keys with <c>:</c>) come on top of the defaults: a SEV1 pages at once, level 1 pages PagerDuty and
    /// the webhook, level 2 Opsgenie after <c>Escalation:Levels:1:Delay</c>.
    /// </summary>
    public static async Task<PagingFaults> StartAsync(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, TimeSpan? sev1Cadence = null)
    {
        var cadence = sev1Cadence ?? TimeSpan.FromMinutes(10);
        var services = database.CreateServices(b => b.AddIncidentEngine(), new Dictionary<string, string?> { ["Reminders:Sev1"] = cadence.ToString("c", System.Globalization.CultureInfo.InvariantCulture) });
        var faults = new PagingFaults(database, services, []);
        await Task.WhenAll(faults.PagerDuty.StartAsync(), faults.Opsgenie.StartAsync(), faults.Webhook.StartAsync());
        var all = new Dictionary<string, string?>
        {
            [DatabaseOptions.ProviderKey] = database.Provider.ToString(),
            [DatabaseOptions.ConnectionStringKey] = database.ConnectionString,
            ["Scheduler:Name"] = $"faults-{Guid.NewGuid():N}",
            ["Scheduler:IdleWaitTime"] = "00:00:01",
            ["Scheduler:ClusterCheckinInterval"] = "00:00:01",
            ["Reminders:Sev1"] = cadence.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Reminders:CommanderMissingAfter"] = "",
            ["Escalation:PageSeverities:0"] = "SEV1",
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:0:Targets:1"] = "webhook",
            ["Escalation:Levels:0:Delay"] = "00:00:00",
            ["Escalation:Levels:1:Targets:0"] = "opsgenie",
            ["Escalation:Levels:1:Delay"] = "00:10:00",
            ["Paging:PagerDuty:EventsUrl"] = faults.PagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Paging:Opsgenie:ApiUrl"] = faults.Opsgenie.BaseAddress.ToString(),
            ["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey,
            ["Paging:Webhook:Url"] = faults.Webhook.Url.ToString(),
            ["Paging:Webhook:Secret"] = WebhookReceiver.Secret,
            ["Paging:RetryDelay"] = "00:00:00.200",
            ["Paging:MaxRetryDelay"] = "00:00:01",
            ["Paging:RequestTimeout"] = "00:00:03",
            ["Paging:MaxAttempts"] = "3",
            // A page whose sender died is taken over once its claim runs out (not renewed by a live sender).
            ["Paging:ClaimLease"] = "00:00:03",
            ["Outbox:Lease"] = "00:00:10",
            ["Outbox:DeliveryTimeout"] = "00:00:08",
            ["Outbox:PollInterval"] = "00:00:00.100",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            ["Logging:LogLevel:IncidentBot"] = "Information",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        foreach (var (key, value) in all)
        {
            faults._environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        await faults.StartBotAsync();
        return faults;
    }

    public async Task StartBotAsync()
    {
        Bot = BotProcess.Start(_environment);
        var address = await Bot.WaitUntilListeningAsync(StartTimeout);
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary><c>kill -9</c>: no shutdown, no scheduler check-out, claims and leases left as they were.</summary>
    public async Task KillBotAsync()
    {
        await Bot.KillAsync();
        Http.Dispose();
        _stopped.Add(Bot);
    }

    public async Task<Incident> DeclareAsync(Severity severity, string title = "Checkout is down") =>
        (await Services.GetRequiredService<IncidentService>().DeclareAsync(new DeclareRequest(title, severity), Ann, default)).Incident;

    public Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Incident incident) =>
        ReadAsync(() => Services.GetRequiredService<IIncidentStore>().GetTimelineAsync(incident.Id, default));

    /// <summary>Runs a read of the test's own, trying again while the database is still coming back.</summary>
    public static async Task<T> ReadAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (DbException) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>The page ledger's rows of an incident, read straight from the table.</summary>
    public async Task<IReadOnlyList<LedgerRow>> LedgerAsync(Incident incident)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<LedgerRow>(
            "SELECT action AS Action, level AS Level, target AS Target, status AS Status, attempts AS Attempts FROM page_ledger WHERE incident_id = @Id ORDER BY id",
            new { incident.Id })).AsList();
    }

    public async Task<DbConnection> OpenAsync() =>
        await Services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);

    /// <summary>Polls until <paramref name="condition"/> holds; fails with <paramref name="what"/> and the bot's output otherwise.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await HoldsAsync(condition))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.\nBot output:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    // The test's own connections suffer the same faults as the bot's; a failed look is tried again.
    private static async Task<bool> HoldsAsync(Func<Task<bool>> condition)
    {
        try
        {
            return await condition();
        }
        catch (DbException)
        {
            return false;
        }
    }

    public async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await Http.GetAsync(new Uri("/readyz", UriKind.Relative));
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var bot in _stopped.Append(Bot).Where(b => b is not null).Distinct())
        {
            await bot.DisposeAsync();
        }

        Http?.Dispose();
        PagerDuty.Release();
        Webhook.Release();
        Opsgenie.Release();
        await PagerDuty.DisposeAsync();
        await Opsgenie.DisposeAsync();
        await Webhook.DisposeAsync();
        await Services.DisposeAsync();
    }

    public sealed record LedgerRow
    {
        public string Action { get; init; } = "";
        public int Level { get; init; }
        public string Target { get; init; } = "";
        public string Status { get; init; } = "";
        public int Attempts { get; init; }
    }
}
