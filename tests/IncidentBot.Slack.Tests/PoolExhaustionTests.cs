using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// The store's pool exhausted under the real host (Kestrel on loopback, a real PostgreSQL, a small connection budget):
/// Slack's requests are refused with 503 and Retry-After well within Slack's 3 s, and what Slack redelivers afterwards
/// is stored once.
/// </summary>
public sealed partial class PoolExhaustionTests : IAsyncLifetime
{
    private const string Ann = "UANN00001";

    // Npgsql's own wait for a busy pool is its connect Timeout, 15 s by default: far past Slack's 3 s.
    private static readonly TimeSpan WellUnderTheOldWait = TimeSpan.FromSeconds(10);

    private readonly PostgresTestDatabase _database = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _slack.AddUser(Ann, "ann");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task StorePoolExhausted_CommandEventActionAndApi_503WithRetryAfterQuickly_RedeliveredMessageStoredOnce()
    {
        await using var host = SlackHost.Start(
            _database, _slack, extra: new Dictionary<string, string?> { [DatabaseOptions.MaxConnectionsKey] = "6" }, kestrel: true);
        var (incident, room) = await DeclareAsync(host, "declare sev2 Pool exhausted");
        var ts = _slack.PostUserMessage(room, Ann, "db pool at 100%");
        var message = SlackPayloads.EventCallback(SlackPayloads.Message(room, Ann, ts, "db pool at 100%"));
        var update = SlackPayloads.Command("update Still digging", Ann, "ann", room);

        var held = await HoldStorePoolAsync(host);
        try
        {
            await AssertRefusedQuicklyAsync(() => host.SendAsync(host.Signer.Form(SlackIds.CommandsPath, update)));
            await AssertRefusedQuicklyAsync(() => host.SendAsync(host.Signer.Json(SlackIds.EventsPath, message)));
            await AssertRefusedQuicklyAsync(() => host.SendAsync(host.Signer.Interaction(SlackPayloads.BlockAction(
                Ann, "ann", room, $"card:{incident.Number}:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, incident.Number.ToString())))));
            await AssertRefusedQuicklyAsync(() => host.Factory.CreateApiClient().GetAsync(new Uri($"/api/incidents/{incident.Number}", UriKind.Relative)));
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        // Slack redelivers the event; the person runs the command again.
        using var redelivery = host.Signer.Json(SlackIds.EventsPath, message);
        redelivery.Headers.Add("X-Slack-Retry-Num", "1");
        redelivery.Headers.Add("X-Slack-Retry-Reason", "http_error");
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(redelivery)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(host.Signer.Form(SlackIds.CommandsPath, update))).StatusCode);

        var timeline = await host.Store.GetTimelineAsync(incident.Id, default);
        Assert.Single(timeline, e => e.Source?.MessageId == ts);
        Assert.Single(timeline, e => e.Text.Contains("Still digging", StringComparison.Ordinal));
        Assert.Null((await host.Store.GetAsync(incident.Number, default))!.AcknowledgedAt);
    }

    /// <summary>Opens every connection of the store's pool through the host's own factory (its pool), so nothing is left for requests.</summary>
    private static async Task<List<DbConnection>> HoldStorePoolAsync(SlackHost host)
    {
        var database = host.Factory.Services.GetRequiredService<IDbConnectionFactory>();
        var held = new List<DbConnection>();
        for (var i = 0; i < ConnectionBudget.Split(6).Store; i++)
        {
            held.Add(await database.OpenConnectionAsync(default));
        }

        return held;
    }

    private static async Task AssertRefusedQuicklyAsync(Func<Task<HttpResponseMessage>> send)
    {
        var watch = Stopwatch.StartNew();
        using var response = await send();
        var took = watch.Elapsed;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"no Retry-After on {response.RequestMessage?.RequestUri}");
        Assert.True(took < WellUnderTheOldWait, $"{response.RequestMessage?.RequestUri} was refused only after {took.TotalSeconds:0.0} s");
    }

    private async Task<(Incident Incident, string Room)> DeclareAsync(SlackHost host, string text)
    {
        var reply = await host.Transport.CommandAsync(SlackPayloads.Command(text, Ann, "ann", _general.Id));
        var number = IncidentNumber.TryParse(IncidentReference().Match(reply.GetProperty("text").GetString()!).Value, out var n)
            ? n
            : throw new InvalidOperationException(reply.ToString());
        var incident = await host.WaitForWarRoomAsync(number);
        return (incident, incident.WarRooms.Single().Channel);
    }

    [GeneratedRegex(@"INC-\d+")]
    private static partial Regex IncidentReference();
}
