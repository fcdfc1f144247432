using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// The database failing under the real process: a private PostgreSQL restarted under a stream of war-room messages,
/// the bot's PostgreSQL sessions cut just before an escalation fires, and a SQLite file that turns read-only.
/// </summary>
[Collection(OneFaultAtATime.Name)]
public sealed class DatabaseFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Ann = "UANN00001";
    private readonly List<IAsyncDisposable> _disposables = [];
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;
    private readonly SlackSigner _signer = new(SlackSigner.TestSecret);

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
    }

    public async Task DisposeAsync()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }

        await _slack.DisposeAsync();
    }

    [Fact]
    public async Task Escalation_BotSessionsTerminatedJustBeforeItFires_PageGoesOutOnTime()
    {
        var database = await PrivatePostgresAsync();
        var faults = await StartAsync(database, new Dictionary<string, string?> { ["Escalation:Levels:1:Delay"] = "00:00:04" });
        var incident = await faults.DeclareAsync(Severity.Sev1);
        await faults.WaitUntilAsync(
            async () => (await faults.LedgerAsync(incident)).Count(r => r.Action == "trigger" && r.Level == 1 && r.Status == "sent") == 2,
            "level 1 to be paged");
        var fireAt = DateTimeOffset.MinValue;
        await faults.WaitUntilAsync(
            async () => (fireAt = await NextFireAsync(faults, $"escalation-{incident.Id}")) > DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1),
            "level 2 to be scheduled");

        await Task.Delay(fireAt - DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(300));
        var terminated = await database.Server.TerminateConnectionsAsync(database.DatabaseName);

        await faults.WaitUntilAsync(() => Task.FromResult(faults.Opsgenie.Requests.Count >= 1), "the level 2 page to Opsgenie");
        var late = faults.Opsgenie.Requests[0].ReceivedAt - fireAt;
        output.WriteLine($"{terminated} sessions terminated 0.3 s before level 2 was due; paged {late.TotalSeconds:0.00} s after it was due");
        Assert.True(terminated > 0, "no session of the bot was terminated");
        Assert.True(late < TimeSpan.FromSeconds(3), $"level 2 went out {late.TotalSeconds:0.0} s after it was due\n{faults.Output}");
        await faults.WaitUntilAsync(
            async () => (await faults.LedgerAsync(incident)).Any(r => r.Action == "trigger" && r.Level == 2 && r.Status == "sent"),
            "level 2 to be recorded as sent");
    }

    [Fact]
    public async Task PostgresRestarted_UnderAStreamOfWarRoomMessages_NoAcknowledgedMessageLostAndReadyWithin10s()
    {
        var database = await PrivatePostgresAsync();
        var faults = await StartAsync(database, SlackSettings());
        var (incident, room) = await DeclareInSlackAsync(faults);

        var acked = new ConcurrentDictionary<string, byte>();
        var refusals = new ConcurrentBag<HttpStatusCode>();
        var pending = new ConcurrentQueue<(string Ts, JsonObject Callback)>();
        using var stop = new CancellationTokenSource();
        var stream = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var ts = _slack.PostUserMessage(room, Ann, $"status line {i}");
                pending.Enqueue((ts, SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, $"status line {i}"))));
                await SendPendingAsync(faults, pending, acked, refusals);
                await Task.Delay(50);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await database.Server.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await database.Server.StartServerAsync();
        var back = Stopwatch.StartNew();
        await faults.WaitUntilAsync(faults.IsReadyAsync, "/readyz after PostgreSQL came back", TimeSpan.FromSeconds(30));
        var readyAfter = back.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await stop.CancelAsync();
        await stream;
        // Slack retries what was not acknowledged; here until everything is.
        await faults.WaitUntilAsync(
            async () => { await SendPendingAsync(faults, pending, acked, refusals); return pending.IsEmpty; },
            "every message to be acknowledged once PostgreSQL is back");

        var captured = (await faults.TimelineAsync(incident)).Where(e => e.Source?.Channel == room).Select(e => e.Source!.MessageId).ToList();
        output.WriteLine(
            $"PostgreSQL down 3 s under {acked.Count} messages: /readyz ready {readyAfter.TotalSeconds:0.0} s after it was back; "
            + $"{refusals.Count} answers refused ({string.Join(", ", refusals.GroupBy(r => (int)r).Select(g => $"{g.Count()}× {g.Key}"))}), "
            + $"{acked.Keys.Except(captured).Count()} acknowledged messages missing from the timeline");
        Assert.True(readyAfter < TimeSpan.FromSeconds(10), $"/readyz was ready {readyAfter.TotalSeconds:0.0} s after PostgreSQL's return");
        Assert.NotEmpty(refusals);
        Assert.All(refusals, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.Empty(acked.Keys.Except(captured));
        Assert.Equal(captured.Count, captured.Distinct().Count());
    }

    [Fact]
    public async Task SqliteFileTurnsReadOnly_ReadyzFailsAndNewWorkIsRefusedWith503NotAcknowledged()
    {
        var database = new SqliteTestDatabase();
        await database.InitializeAsync();
        _disposables.Add(new AsyncDisposable(database.DisposeAsync));
        // Without pooling every database call opens the file anew, as the first calls after a restart do.
        var settings = SlackSettings();
        settings["ConnectionStrings:IncidentBot"] = database.ConnectionString + ";Pooling=False";
        var faults = await StartAsync(database, settings);
        var (incident, room) = await DeclareInSlackAsync(faults);
        var ts = _slack.PostUserMessage(room, Ann, "error rate back to normal?");
        var callback = SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, "error rate back to normal?"));

        // The declare's follow-up work (war-room posts, card, timers) writes through the same group-commit writer; let it
        // finish first, so the read-only file meets new work only (a batch already open on the file still commits, and
        // what it acknowledges is stored: right, but not what this test looks at).
        await faults.WaitUntilAsync(
            async () =>
            {
                await using var connection = await faults.Services.GetRequiredService<IncidentBot.Storage.IDbConnectionFactory>().OpenConnectionAsync(default);
                return await connection.ExecuteScalarAsync<long>(
                    "SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL) + (SELECT count(*) FROM outbox_deliveries WHERE done_at IS NULL AND failed_at IS NULL)") == 0;
            },
            "the declare's follow-up work to finish",
            TimeSpan.FromSeconds(20));

        HttpStatusCode eventStatus;
        HttpStatusCode declareStatus;
        await using (ReadOnlyFiles.Make(database.FilePath))
        {
            await faults.WaitUntilAsync(async () => !await faults.IsReadyAsync(), "/readyz to fail on the read-only file", TimeSpan.FromSeconds(10));
            using var eventResponse = await faults.Http.SendAsync(_signer.Json("/slack/events", callback));
            eventStatus = eventResponse.StatusCode;
            using var declareResponse = await faults.Http.SendAsync(_signer.Form("/slack/commands", SlackPayloads.Command("declare sev1 Disk is read-only", Ann, "ann", _general.Id)));
            declareStatus = declareResponse.StatusCode;
        }

        await faults.WaitUntilAsync(faults.IsReadyAsync, "/readyz once the file is writable again");
        using var retried = await faults.Http.SendAsync(_signer.Json("/slack/events", callback));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, eventStatus);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, declareStatus);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Single(await faults.TimelineAsync(incident), e => e.Source?.MessageId == ts);
        Assert.Null(await faults.Services.GetRequiredService<IIncidentStore>().GetAsync(new IncidentNumber(2), default));
    }

    private async Task<PrivatePostgresDatabase> PrivatePostgresAsync()
    {
        var server = await RestartablePostgres.StartAsync();
        _disposables.Add(server);
        var database = new PrivatePostgresDatabase(server);
        await database.InitializeAsync();
        return database;
    }

    private async Task<PagingFaults> StartAsync(TestDatabase database, Dictionary<string, string?> settings)
    {
        var faults = await PagingFaults.StartAsync(database, settings);
        _disposables.Add(faults);
        return faults;
    }

    private Dictionary<string, string?> SlackSettings() => new()
    {
        ["Slack:BotToken"] = FakeSlackServer.BotToken,
        ["Slack:SigningSecret"] = SlackSigner.TestSecret,
        ["Slack:ApiBaseUrl"] = _slack.ApiBaseUrl.ToString(),
        ["Slack:ChannelPostInterval"] = "00:00:00.020",
        ["Escalation:PageSeverities:0"] = "none",
    };

    /// <summary>Declares over a signed slash command and waits until its war-room channel is linked.</summary>
    private async Task<(Incident Incident, string Room)> DeclareInSlackAsync(PagingFaults faults)
    {
        using var response = await faults.Http.SendAsync(_signer.Form("/slack/commands", SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var store = faults.Services.GetRequiredService<IIncidentStore>();
        Incident? incident = null;
        await faults.WaitUntilAsync(
            async () => (incident = await store.GetAsync(new IncidentNumber(1), default)) is { WarRooms.Count: > 0 },
            "the war room to be created and linked");
        return (incident!, incident!.WarRooms[0].Channel);
    }

    private async Task SendPendingAsync(
        PagingFaults faults, ConcurrentQueue<(string Ts, JsonObject Callback)> pending, ConcurrentDictionary<string, byte> acked, ConcurrentBag<HttpStatusCode> refusals)
    {
        for (var n = pending.Count; n > 0 && pending.TryDequeue(out var message); n--)
        {
            HttpStatusCode status;
            try
            {
                using var response = await faults.Http.SendAsync(_signer.Json("/slack/events", message.Callback));
                status = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                status = 0;
            }

            if (status == HttpStatusCode.OK)
            {
                acked[message.Ts] = 0;
            }
            else
            {
                refusals.Add(status);
                pending.Enqueue(message);
            }
        }
    }

    private static async Task<DateTimeOffset> NextFireAsync(PagingFaults faults, string trigger)
    {
        await using var connection = await faults.OpenAsync();
        var ticks = await connection.ExecuteScalarAsync<long?>("SELECT next_fire_time FROM qrtz_triggers WHERE trigger_name = @Name", new { Name = trigger });
        return ticks is > 0 ? new DateTimeOffset(ticks.Value, TimeSpan.Zero) : DateTimeOffset.MinValue;
    }

    private sealed class AsyncDisposable(Func<Task> dispose) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await dispose();
    }
}
