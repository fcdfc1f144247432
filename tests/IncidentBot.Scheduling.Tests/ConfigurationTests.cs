using IncidentBot.TestKit.Processes;

namespace IncidentBot.Scheduling.Tests;

/// <summary>Bad reminder, escalation or paging settings stop the real host with one line naming the key.</summary>
public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Reminders__CommanderMissingAfter", "-00:01:00", "Reminders:CommanderMissingAfter must be a positive time span")]
    [InlineData("Paging__PagerDuty__EventsUrl", "http://events.example.com/v2/enqueue", "Paging:PagerDuty:EventsUrl must be an https:// URL")]
    [InlineData("Paging__Webhook__Secret", "hunter2", "Paging:Webhook:Secret must be a Standard Webhooks secret")]
    [InlineData("Escalation__Levels__0__Targets__0", "slack", "Escalation:Levels:0:Targets:0: 'slack' is not a target: use pagerduty, pagerduty:<service>, opsgenie")]
    public async Task Run_WithInvalidSetting_ExitsWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        var environment = new Dictionary<string, string?>
        {
            [variable] = value,
            ["Paging__PagerDuty__RoutingKey"] = variable.StartsWith("Escalation", StringComparison.Ordinal) ? "" : "R0123456789abcdef0123456789abcde",
            ["Paging__Webhook__Url"] = variable.StartsWith("Paging__Webhook", StringComparison.Ordinal) ? "https://hooks.example.com/incidents" : "",
        };
        await using var host = BotProcess.Start(environment);

        var exitCode = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.ErrorLines);
        Assert.StartsWith("IncidentBot cannot start:", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("R0123456789abcdef0123456789abcde", host.Output);
    }
}
