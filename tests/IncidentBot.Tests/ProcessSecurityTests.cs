using System.Net;
using System.Net.Sockets;
using System.Text;
using IncidentBot.Hosting;
using IncidentBot.TestKit.Processes;

namespace IncidentBot.Tests;

/// <summary>Start-up refusals and request limits of the built host, run as a separate process on real Kestrel.</summary>
public sealed class ProcessSecurityTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private const string Token = "0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("Api__Tokens__0", "<long random string>", "Api:Tokens:0 holds a placeholder")]
    [InlineData("Api__Tokens__0", "short-token-123", "Api:Tokens:0 must be at least 24 characters")]
    [InlineData("Paging__PagerDuty__RoutingKey", "<from environment>", "Paging:PagerDuty:RoutingKey holds a placeholder")]
    [InlineData("Paging__Opsgenie__ApiKey", "changeme", "Paging:Opsgenie:ApiKey holds a placeholder")]
    [InlineData("Paging__Webhook__Secret", "<from environment>", "Paging:Webhook:Secret holds a placeholder")]
    [InlineData("ConnectionStrings__IncidentBot", "Host=127.0.0.1;Database=incidentbot;Username=incidentbot;Password=<from environment>", "ConnectionStrings:IncidentBot (Password) holds a placeholder")]
    public async Task Run_WithPlaceholderOrShortSecret_ExitsWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        var environment = new Dictionary<string, string?> { [variable] = value };
        if (variable.StartsWith("ConnectionStrings", StringComparison.Ordinal))
        {
            environment["Database__Provider"] = "Postgres";
        }

        if (variable.StartsWith("Paging__Webhook", StringComparison.Ordinal))
        {
            environment["Paging__Webhook__Url"] = "https://hooks.internal.invalid/page";
        }

        await using var host = BotProcess.Start(environment);
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.StartsWith("IncidentBot cannot start:", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain(value, line);
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0")]
    public async Task Run_ListeningBeyondLoopbackWithoutTokens_ExitsSayingWhy(string urls)
    {
        await using var host = BotProcess.Start(urls: urls);
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.StartsWith("IncidentBot cannot start: no Api:Tokens are configured", line);
        Assert.Contains("not loopback", line);
        Assert.Contains("Api:Tokens", line);
    }

    [Fact]
    public async Task Run_ListeningBeyondLoopbackWithTokens_Serves()
    {
        await using var host = BotProcess.Start(new Dictionary<string, string?> { ["Api__Tokens__0"] = Token }, urls: "http://0.0.0.0:0");
        var address = await host.WaitUntilListeningAsync(StartTimeout);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{address.Port}") };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    [Theory]
    [InlineData("http://localhost:5000", true)]
    [InlineData("http://127.0.0.1:5000", true)]
    [InlineData("http://127.0.0.2:5000", true)]
    [InlineData("http://[::1]:5000", true)]
    [InlineData("https://localhost:5001/", true)]
    [InlineData("http://0.0.0.0:5000", false)]
    [InlineData("http://[::]:5000", false)]
    [InlineData("http://+:5000", false)]
    [InlineData("http://*:5000", false)]
    [InlineData("http://192.168.1.20:5000", false)]
    [InlineData("http://bot.internal:5000", false)]
    [InlineData("http://unix:/run/incidentbot.sock", false)]
    public void Listeners_IsLoopback_JudgesBoundAddresses(string address, bool loopback) =>
        Assert.Equal(loopback, Listeners.IsLoopback(address));

    [Fact]
    public async Task SignIn_DeclaredBodyOverLimit_413BeforeTheBodyIsSent()
    {
        await using var host = BotProcess.Start(new Dictionary<string, string?> { ["Api__Tokens__0"] = Token });
        var address = await host.WaitUntilListeningAsync(StartTimeout);

        // 500 KB announced (under Kestrel's default, over the form's limit), 1 KB sent: the answer must come without waiting for the rest.
        var response = await SendRawAsync(address, "Content-Length: 500000\r\n", [new string('a', 1024)]);

        Assert.StartsWith("HTTP/1.1 413", response);
    }

    [Fact]
    public async Task SignIn_ChunkedBodyOverLimit_413WithoutTheEndOfTheBody()
    {
        await using var host = BotProcess.Start(new Dictionary<string, string?> { ["Api__Tokens__0"] = Token });
        var address = await host.WaitUntilListeningAsync(StartTimeout);

        // Five 8 KB chunks (over the sign-in form's limit) and never the terminating chunk.
        var chunk = $"2000\r\n{new string('a', 0x2000)}\r\n";
        var response = await SendRawAsync(address, "Transfer-Encoding: chunked\r\n", Enumerable.Repeat(chunk, 5).ToArray());

        Assert.StartsWith("HTTP/1.1 413", response);
    }

    /// <summary>Sends a sign-in POST with <paramref name="framing"/> and the given body parts, leaves the body unfinished, and reads the status line.</summary>
    private static async Task<string> SendRawAsync(Uri address, string framing, string[] parts)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = client.GetStream();
        var head = $"POST /signin HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/x-www-form-urlencoded\r\n{framing}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
        foreach (var part in parts)
        {
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(part), timeout.Token);
            }
            catch (IOException)
            {
                break; // the server answered and closed while we were still sending
            }
        }

        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
