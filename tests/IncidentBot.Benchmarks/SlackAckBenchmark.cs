using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Benchmarks;

/// <summary>
/// Ack latency and throughput of signed Slack slash commands and message events against the built host
/// as a real process on Kestrel, at 64 concurrent connections, on SQLite and (when
/// INCIDENTBOT_TEST_POSTGRES is set) PostgreSQL. Slack's Web API is the test kit's fake.
/// Options: --requests N (per workload, default 3000), --concurrency C (default 64), --rate R (open loop), --sqlite-only.
/// </summary>
public sealed class SlackAckBenchmark : IBenchmark
{
    private const string Secret = SlackSigner.TestSecret;
    private const string ApiToken = "benchmark-token-0123456789";

    public string Name => "slack-ack";

    public string Description => "Slack ack latency p50/p99 and throughput (commands, message events) at 64 connections, SQLite and PostgreSQL";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var load = HttpLoad.FromArguments(Name, args, defaultRequests: 3000, defaultConcurrency: 64);
        var stored = true;
        await load.RunOnEachDatabaseAsync(async database =>
        {
            await using var slack = await FakeSlackServer.StartAsync();
            var general = slack.AddChannel("general");
            stored &= await RunOnAsync(database, slack, general.Id, load, cancellationToken);
        });

        return stored ? 0 : 1;
    }

    private static async Task<bool> RunOnAsync(TestDatabase database, FakeSlackServer slack, string general, HttpLoad load, CancellationToken cancellationToken)
    {
        var concurrency = load.Concurrency;
        await using var host = BenchmarkHost.Start(database, new Dictionary<string, string?>
        {
            ["Api__Tokens__0"] = ApiToken,
            ["Slack__SigningSecret"] = Secret,
            ["Slack__BotToken"] = FakeSlackServer.BotToken,
            ["Slack__ApiBaseUrl"] = slack.ApiBaseUrl.ToString(),
        }, concurrency);
        await host.WaitUntilReadyAsync(cancellationToken);
        var client = host.Client;
        var signer = new SlackSigner(Secret);

        // One incident per connection, so commands measure the ack path rather than optimistic-concurrency
        // retries on a single incident; messages all go to the first incident's war room.
        for (var n = 0; n < concurrency; n++)
        {
            var declared = await client.SendAsync(signer.Form("/slack/commands", SlackPayloads.Command($"declare sev3 Benchmark incident {n}", "UBENCH", "bench", general)), cancellationToken);
            declared.EnsureSuccessStatusCode();
        }

        var room = await WaitForWarRoomAsync(client, cancellationToken);

        // Let the outbox finish opening the war rooms, so their creation does not compete with the measurement.
        var settle = DateTime.UtcNow.AddSeconds(120);
        while (slack.Channels.Values.Count(c => c.Name.StartsWith("inc-", StringComparison.Ordinal)) < concurrency && DateTime.UtcNow < settle)
        {
            await Task.Delay(200, cancellationToken);
        }

        // Warm-up: JIT, connection pools, SQLite pages.
        await host.MeasureAsync(200, i => signer.Form("/slack/commands", SlackPayloads.Command($"note INC-{1 + i % concurrency} warm-up {i}", "UBENCH", "bench", room)), cancellationToken);

        var commands = await host.MeasureAsync(load.Requests,
            i => signer.Form("/slack/commands", SlackPayloads.Command($"note INC-{1 + i % concurrency} benchmark note {i}", "UBENCH", "bench", room)), cancellationToken, load.Rate);
        commands.Report(database.Provider, "slash command (note)");

        var baseTs = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var events = await host.MeasureAsync(load.Requests,
            i => signer.Json("/slack/events", SlackPayloads.EventCallback(SlackPayloads.Message(room, "UBENCH", $"{baseTs}.{i:D6}", $"benchmark message {i}"))), cancellationToken, load.Rate);
        events.Report(database.Provider, "message event");

        return await CountCheckAsync(database, room, concurrency, commands, events, baseTs, cancellationToken);
    }

    /// <summary>
    /// Every acknowledged request is in the database afterwards, once: each 200 note in its incident's timeline, each
    /// 200 message in the war room's. Read straight from the database, as an operator would. False on any miss.
    /// </summary>
    private static async Task<bool> CountCheckAsync(
        TestDatabase database, string room, int concurrency, LoadResult commands, LoadResult events, long baseTs, CancellationToken cancellationToken)
    {
        await using var services = database.CreateServices();
        var store = services.GetRequiredService<IIncidentStore>();
        var notes = new List<TimelineEntry>();
        for (var n = 1; n <= concurrency; n++)
        {
            var incident = await store.GetAsync(new IncidentNumber(n), cancellationToken) ?? throw new InvalidOperationException($"INC-{n} is missing.");
            notes.AddRange((await store.GetTimelineAsync(incident.Id, cancellationToken)).Where(e => e.Kind == TimelineKind.Note));
        }

        var warRoom = await store.FindByWarRoomAsync(new ChatSpace("slack", room), cancellationToken) ?? throw new InvalidOperationException("The war room is not linked.");
        var messages = (await store.GetTimelineAsync(warRoom.Id, cancellationToken)).Where(e => e.Kind == TimelineKind.Message).ToList();

        var noteTexts = notes.GroupBy(e => e.Text).ToDictionary(g => g.Key, g => g.Count());
        var messageIds = messages.Where(e => e.Source is not null).GroupBy(e => e.Source!.MessageId).ToDictionary(g => g.Key, g => g.Count());
        var missingNotes = Missing(commands, i => noteTexts.GetValueOrDefault($"benchmark note {i}"));
        var missingMessages = Missing(events, i => messageIds.GetValueOrDefault(string.Create(CultureInfo.InvariantCulture, $"{baseTs}.{i:D6}")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{database.Provider,-8} count check: notes {commands.Acknowledged.Count(a => a)} acknowledged, {missingNotes} not stored exactly once; messages {events.Acknowledged.Count(a => a)} acknowledged, {missingMessages} not stored exactly once"));
        return missingNotes == 0 && missingMessages == 0;
    }

    private static int Missing(LoadResult result, Func<int, int> storedCount) =>
        Enumerable.Range(0, result.Acknowledged.Count).Count(i => result.Acknowledged[i] && storedCount(i) != 1);

    private static async Task<string> WaitForWarRoomAsync(HttpClient client, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/incidents/1");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiToken);
            using var response = await client.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                var root = json.RootElement.TryGetProperty("incident", out var wrapped) ? wrapped : json.RootElement;
                if (root.TryGetProperty("warRooms", out var rooms) && rooms.GetArrayLength() > 0)
                {
                    return rooms[0].GetProperty("channel").GetString()!;
                }
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new InvalidOperationException("The war room was not created.");
    }
}
