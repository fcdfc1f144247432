using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Processes;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;


namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// The bot as a separate process on a test database, talking to a <see cref="FakeSlackServer"/> over the real wire:
/// slash commands signed as Slack signs them, events delivered by the fake, and <c>kill -9</c> at any moment. State is
/// read straight from the database, as an operator would, so a killed process cannot hide anything.
/// </summary>
public sealed partial class OutboxFaults : IAsyncDisposable
{
    public const string Ann = "UANN00001";
    public const string Bob = "UBOB00001";
    public const string Carol = "UCAROL001";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly TestDatabase _database;
    private readonly ITestOutputHelper _output;
    private readonly Dictionary<string, string?> _settings;
    private readonly List<BotProcess> _bots = [];
    private readonly ServiceProvider _services;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private OutboxFaults(TestDatabase database, FakeSlackServer slack, FakeChannel general, ITestOutputHelper output, Dictionary<string, string?> settings)
    {
        _database = database;
        Slack = slack;
        General = general;
        _output = output;
        _settings = settings;
        _services = database.CreateServices();
    }

    public FakeSlackServer Slack { get; }

    /// <summary>Where incidents are declared.</summary>
    public FakeChannel General { get; }

    public IIncidentStore Store => _services.GetRequiredService<IIncidentStore>();

    /// <summary>Every bot started, in order.</summary>
    public IReadOnlyList<BotProcess> Bots => _bots;

    /// <summary>The running (or last started) bot.</summary>
    public BotProcess Bot => _bots.LastOrDefault(b => !b.HasExited) ?? _bots[^1];

    public Uri BotAddress { get; private set; } = null!;

    /// <summary>A fake Slack, and the settings a bot on <paramref name="database"/> needs to use it; no bot runs yet.</summary>
    public static async Task<OutboxFaults> CreateAsync(TestDatabase database, ITestOutputHelper output, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var slack = await FakeSlackServer.StartAsync();
        var general = slack.AddChannel("general");
        slack.AddUser(Ann, "ann");
        slack.AddUser(Bob, "bob");
        slack.AddUser(Carol, "carol");
        var settings = new Dictionary<string, string?>
        {
            ["Database__Provider"] = database.Provider.ToString(),
            ["ConnectionStrings__IncidentBot"] = database.ConnectionString,
            ["Slack__BotToken"] = FakeSlackServer.BotToken,
            ["Slack__SigningSecret"] = SlackSigner.TestSecret,
            ["Slack__ApiBaseUrl"] = slack.ApiBaseUrl.ToString(),
            ["Slack__ChannelPostInterval"] = "00:00:00.020",
            ["Logging__LogLevel__IncidentBot"] = "Debug",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new OutboxFaults(database, slack, general, output, settings);
    }

    /// <summary>Starts a bot process and waits until it listens; the fake delivers events to it from then on.</summary>
    public async Task<BotProcess> StartBotAsync()
    {
        var bot = BotProcess.Start(_settings);
        _bots.Add(bot);
        BotAddress = await bot.WaitUntilListeningAsync(StartTimeout);
        Slack.DeliverEventsTo(BotAddress, SlackSigner.TestSecret);
        await WaitUntilAsync(() => ReadyAsync(BotAddress), "the bot to be ready", StartTimeout);
        return bot;
    }

    /// <summary>
    /// Starts <paramref name="count"/> bot processes at once and waits until every one is ready; the fake delivers events
    /// to them in turn (round robin). Returns their addresses.
    /// </summary>
    public async Task<IReadOnlyList<Uri>> StartBotsAsync(int count)
    {
        var bots = Enumerable.Range(0, count).Select(_ => BotProcess.Start(_settings)).ToList();
        _bots.AddRange(bots);
        var addresses = await Task.WhenAll(bots.Select(bot => bot.WaitUntilListeningAsync(StartTimeout)));
        foreach (var address in addresses)
        {
            await WaitUntilAsync(() => ReadyAsync(address), $"the bot at {address} to be ready", StartTimeout);
        }

        BotAddress = addresses[^1];
        Slack.DeliverEventsTo(addresses, SlackSigner.TestSecret);
        return addresses;
    }

    /// <summary><c>kill -9</c>: no shutdown, no check-out, claims left as they are.</summary>
    public async Task KillAsync(BotProcess bot)
    {
        await bot.KillAsync();
        _output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff}] killed the bot (pid {bot.Id})");
    }

    /// <summary>Sends <c>/incident {text}</c> from Ann in #general to <paramref name="bot"/> (the running one by default); returns the number from the ack.</summary>
    public async Task<IncidentNumber> DeclareAsync(string text, Uri? bot = null)
    {
        var reply = await CommandAsync(text, General.Id, Ann, "ann", bot);
        var number = IncidentNumberPattern().Match(reply.GetProperty("text").GetString() ?? "");
        return number.Success && IncidentNumber.TryParse(number.Value, out var parsed)
            ? parsed
            : throw new InvalidOperationException($"No incident number in the ack: {reply}");
    }

    /// <summary>A slash command, signed; returns the bot's JSON answer (the ack).</summary>
    public async Task<JsonElement> CommandAsync(string text, string channel, string user, string userName, Uri? bot = null)
    {
        var signer = new SlackSigner(SlackSigner.TestSecret);
        using var request = signer.Form(new Uri(bot ?? BotAddress, "/slack/commands").ToString(), SlackPayloads.Command(text, user, userName, channel));
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/incident {text} answered {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        return json.RootElement.Clone();
    }

    public async Task<Incident> IncidentAsync(IncidentNumber number) =>
        await Store.GetAsync(number, default) ?? throw new InvalidOperationException($"{number} is not stored.");

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(IncidentNumber number) =>
        await Store.GetTimelineAsync((await IncidentAsync(number)).Id, default);

    /// <summary>
    /// Waits until the war room of <paramref name="number"/> is whole: one channel made for it, linked, the card posted
    /// in it and Ann invited. Returns that channel.
    /// </summary>
    public async Task<FakeChannel> WaitForWarRoomAsync(IncidentNumber number, TimeSpan timeout)
    {
        FakeChannel? room = null;
        await WaitUntilAsync(
            async () =>
            {
                var incident = await Store.GetAsync(number, default);
                room = incident?.WarRooms.Count == 1 && Slack.Channels.TryGetValue(incident.WarRooms[0].Channel, out var channel) ? channel : null;
                return room is not null && room.Members.ContainsKey(Ann) && room.Messages.Values.Any(m => m.User == FakeSlackServer.BotUserId && m.Text.StartsWith($"{number} (", StringComparison.Ordinal));
            },
            $"the war room of {number} (linked, card posted, Ann invited)",
            timeout);
        return room!;
    }

    /// <summary>The channels the fake holds for <paramref name="number"/>: exactly one when nothing was made twice.</summary>
    public IReadOnlyList<FakeChannel> ChannelsOf(IncidentNumber number) =>
        Slack.Channels.Values.Where(c => c.Name.StartsWith($"inc-{number.Value}-", StringComparison.Ordinal)).ToList();

    /// <summary>Someone says something in <paramref name="room"/> and it must reach the timeline: the war room works.</summary>
    public async Task AssertCapturesAsync(IncidentNumber number, FakeChannel room, TimeSpan timeout)
    {
        var ts = await Slack.SayAsync(room.Id, Bob, $"still here after the restart {Guid.NewGuid():N}");
        await WaitUntilAsync(async () => (await TimelineAsync(number)).Any(e => e.Source?.MessageId == ts), $"message {ts} in the timeline of {number}", timeout);
    }

    /// <summary>How many outbox deliveries a claimer holds right now (leased, not yet done, failed or retried).</summary>
    public async Task<long> ClaimedDeliveriesAsync()
    {
        await using var connection = await _services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM outbox_deliveries WHERE lease_until IS NOT NULL AND done_at IS NULL AND failed_at IS NULL");
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; returns how long that took.</summary>
    public static async Task<TimeSpan> WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.");
            }

            await Task.Delay(50);
        }

        return clock.Elapsed;
    }

    public void Log(string line) => _output.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff}] {line}");

    public async ValueTask DisposeAsync()
    {
        foreach (var bot in _bots)
        {
            await bot.KillAsync();
            _output.WriteLine($"--- bot pid {bot.Id} output ---");
            _output.WriteLine(bot.Output);
            await bot.DisposeAsync();
        }

        foreach (var failure in Slack.HookFailures)
        {
            _output.WriteLine($"hook failed: {failure}");
        }

        _http.Dispose();
        await _services.DisposeAsync();
        await Slack.DisposeAsync();
    }

    private async Task<bool> ReadyAsync(Uri bot)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(bot, "/readyz"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"INC-\d+")]
    private static partial Regex IncidentNumberPattern();
}
