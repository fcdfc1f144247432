using System.Net;
using IncidentBot.TestKit.Processes;

namespace IncidentBot.Tests;

/// <summary>The built host started the way the README says, as a separate process.</summary>
public sealed class ProcessTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_WithNoConfiguration_ServesHealthOnSqliteFile()
    {
        await using var host = BotProcess.Start();
        var address = await host.WaitUntilListeningAsync(StartTimeout);
        using var http = new HttpClient { BaseAddress = address };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        await WaitUntilReadyAsync(http);
        Assert.True(File.Exists(Path.Combine(host.WorkingDirectory, "incidentbot.db")), "the default SQLite file was not created in the working directory");

        // With no Api:Tokens a direct loopback caller may read the API, but not one that came through a proxy.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/incidents", UriKind.Relative))).StatusCode);
        using var proxied = new HttpRequestMessage(HttpMethod.Get, "/api/incidents");
        proxied.Headers.Add("X-Forwarded-For", "203.0.113.7");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(proxied)).StatusCode);
    }

    [Theory]
    [InlineData("Database__Provider", "Oracle", "Database:Provider must be Sqlite or Postgres (was 'Oracle')")]
    [InlineData("Database__Provider", "Postgres", "ConnectionStrings:IncidentBot is required when Database:Provider is Postgres")]
    [InlineData("Reminders__Sev1", "soon", "Reminders:Sev1")]
    [InlineData("Reminders__Sev2", "-00:05:00", "Reminders:Sev2 must be a positive time span")]
    [InlineData("Outbox__Lease", "00:00:01", "Outbox:Lease must be at least 00:00:10")]
    [InlineData("Scheduler__ReconcileInterval", "00:00:00", "Scheduler:ReconcileInterval must be at least 00:00:01")]
    [InlineData("Retention__Age", "01:00:00", "Retention:Age must be at least 1.00:00:00")]
    [InlineData("Paging__ClaimLease", "00:30:00", "Paging:ClaimLease must be between 00:00:01 and 00:10:00")]
    public async Task Run_WithInvalidSetting_ExitsWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        await using var host = BotProcess.Start(new Dictionary<string, string?> { [variable] = value });
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var lines = host.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("IncidentBot cannot start:", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", host.StandardOutput);
    }

    [Fact]
    public async Task Run_WithTwoInvalidSections_NamesBothKeysOnOneLine()
    {
        await using var host = BotProcess.Start(new Dictionary<string, string?>
        {
            ["Reminders__Sev1"] = "-00:01:00",
            ["Outbox__BatchSize"] = "0",
        });
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("Reminders:Sev1 must be a positive time span", line);
        Assert.Contains("Outbox:BatchSize must be between 1 and 1000", line);
    }

    private static async Task WaitUntilReadyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        HttpResponseMessage response;
        do
        {
            response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"/readyz stayed {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }
}
