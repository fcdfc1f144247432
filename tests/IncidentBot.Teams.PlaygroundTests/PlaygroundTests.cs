using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IncidentBot.TestKit.Databases;

namespace IncidentBot.Teams.PlaygroundTests;

/// <summary>
/// The bot in local mode (no Teams:AppId) as a real process, driven headlessly through Microsoft 365 Agents
/// Playground 0.2.28: messages go in through the Playground's conversation API, the bot's answers come back
/// over the Playground's WebSocket stream, exactly as its web UI would see them.
/// </summary>
public sealed partial class PlaygroundTests : IAsyncLifetime
{
    private readonly SqliteTestDatabase _database = new();
    private readonly StringBuilder _playgroundOutput = new();
    private readonly StringBuilder _botOutput = new();
    private Process _bot = null!;
    private Process _playground = null!;
    private HttpClient _client = null!;
    private Uri _playgroundUri = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        var folder = Path.Combine(RepositoryRoot(), "tests", "IncidentBot.Teams.PlaygroundTests", "playground");
        if (!File.Exists(Path.Combine(folder, "node_modules", ".bin", "agentsplayground")))
        {
            var install = await RunToEndAsync("npm", "install --no-audit --no-fund", folder);
            Assert.True(install.Code == 0, $"npm install of the Agents Playground failed: {install.Output}");
        }

        var botPort = FreePort();
        var bot = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        bot.ArgumentList.Add(HostAssemblyPath());
        bot.ArgumentList.Add("--urls");
        bot.ArgumentList.Add($"http://127.0.0.1:{botPort}");
        foreach (var key in bot.Environment.Keys.Where(k => k.StartsWith("Teams__", StringComparison.Ordinal)).ToList())
        {
            bot.Environment.Remove(key);
        }

        bot.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // Production refuses unauthenticated activities unless local mode is asked for (dotnet run gets it from Development).
        bot.Environment["Teams__LocalMode"] = "true";
        bot.Environment["Database__Provider"] = "Sqlite";
        bot.Environment["ConnectionStrings__IncidentBot"] = _database.ConnectionString;
        bot.Environment["Scheduler__Name"] = $"playground-{Guid.NewGuid():N}";
        _bot = StartCapturing(bot, _botOutput);

        var playground = new ProcessStartInfo(Path.Combine(folder, "node_modules", ".bin", "agentsplayground"))
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-e", $"http://127.0.0.1:{botPort}/api/messages", "-c", "msteams", "-p", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--dt" })
        {
            playground.ArgumentList.Add(argument);
        }

        playground.Environment["TEAMSAPPTESTER_BROWSER"] = "none";
        _playground = StartCapturing(playground, _playgroundOutput);

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_playgroundUri is null)
        {
            lock (_playgroundOutput)
            {
                if (ListeningLine().Match(_playgroundOutput.ToString()) is { Success: true } match)
                {
                    _playgroundUri = new Uri($"http://127.0.0.1:{match.Groups[1].Value}/");
                }
            }

            Assert.True(DateTime.UtcNow < deadline && !_playground.HasExited, $"The Playground did not start: {_playgroundOutput}");
            await Task.Delay(100);
        }

        _client = new HttpClient { BaseAddress = _playgroundUri };
        using var health = new HttpClient();
        while (true)
        {
            try
            {
                if ((await health.GetAsync(new Uri($"http://127.0.0.1:{botPort}/readyz"))).IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            Assert.True(DateTime.UtcNow < deadline && !_bot.HasExited, $"The bot did not start: {_botOutput}");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        foreach (var process in new[] { _playground, _bot })
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process?.Dispose();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Declare_FromPlaygroundPersonalChat_IncidentCardComesBack()
    {
        var config = (await _client.GetFromJsonAsync<JsonObject>("_internal/v1/config"))!["config"]!;
        var chat = (string)config["personalChat"]!["id"]!;
        var user = (string)config["currentUser"]!["id"]!;
        using var stream = await OpenStreamAsync();

        var sent = await _client.PostAsJsonAsync($"_conversation/v1/conversations/{Uri.EscapeDataString(chat)}/messages",
            new JsonObject { ["from"] = new JsonObject { ["id"] = user }, ["text"] = "declare sev2 Playground checkout outage", ["textFormat"] = "plain" });
        Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());

        var card = await ReadUntilAsync(stream, message => message["attachments"] is JsonArray { Count: > 0 } attachments
            && attachments[0]?["content"] is JsonObject content && content.ToJsonString().Contains("Playground checkout outage", StringComparison.Ordinal));
        var content = card["attachments"]![0]!["content"]!;
        Assert.Equal("application/vnd.microsoft.card.adaptive", (string?)card["attachments"]![0]!["contentType"]);
        Assert.Equal("1.5", (string?)content["version"]);
        Assert.Equal("INC-1 · SEV2 · investigating", (string?)content["body"]![0]!["text"]);

        // The card's Acknowledge button, as the Playground's UI sends it (adaptiveCard/action invoke).
        var invoke = await _client.PostAsJsonAsync("_conversation/v1/invoke", new JsonObject
        {
            ["name"] = "adaptiveCard/action",
            ["value"] = new JsonObject
            {
                ["action"] = new JsonObject { ["type"] = "Action.Execute", ["verb"] = "ack", ["data"] = new JsonObject { ["verb"] = "ack", ["incident"] = "INC-1" } },
                ["trigger"] = "manual",
            },
            ["from"] = new JsonObject { ["id"] = user },
            ["conversation"] = new JsonObject { ["id"] = chat },
            ["replyToId"] = (string?)card["messageId"],
        });
        var answer = await invoke.Content.ReadAsStringAsync();
        Assert.True(invoke.IsSuccessStatusCode, answer);
        Assert.Contains("Acknowledged", answer, StringComparison.Ordinal);
    }

    private async Task<ClientWebSocket> OpenStreamAsync()
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{_playgroundUri.Authority}/_ws_conversation/v1/conversations/stream"), CancellationToken.None);
        return socket;
    }

    private async Task<JsonObject> ReadUntilAsync(ClientWebSocket socket, Func<JsonObject, bool> wanted)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        var seen = new List<string>();
        while (true)
        {
            using var frame = new MemoryStream();
            WebSocketReceiveResult result;
            try
            {
                do
                {
                    result = await socket.ReceiveAsync(buffer, timeout.Token);
                    frame.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching message from the bot. Seen: {string.Join(" | ", seen)}; bot output: {_botOutput}");
            }

            var text = Encoding.UTF8.GetString(frame.ToArray());
            seen.Add(text.Length > 200 ? text[..200] : text);
            if (JsonNode.Parse(text) is JsonObject { } envelope && (string?)envelope["action"] == "createMessage"
                && envelope["message"] is JsonObject message && wanted(message))
            {
                return message;
            }
        }
    }

    private static Process StartCapturing(ProcessStartInfo start, StringBuilder output)
    {
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        void Capture(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        }

        process.OutputDataReceived += Capture;
        process.ErrorDataReceived += Capture;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<(int Code, string Output)> RunToEndAsync(string file, string arguments, string directory)
    {
        var output = new StringBuilder();
        using var process = StartCapturing(new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true }, output);
        await process.WaitForExitAsync();
        return (process.ExitCode, output.ToString());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IncidentBot.sln not found.");
    }

    private static string HostAssemblyPath()
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(RepositoryRoot(), "src", "IncidentBot", "bin", bin.Parent!.Name, bin.Name, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/IncidentBot first.", path);
    }

    [GeneratedRegex(@"Listening on (\d+)")]
    private static partial Regex ListeningLine();
}
