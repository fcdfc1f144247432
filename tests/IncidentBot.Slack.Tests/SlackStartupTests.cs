using IncidentBot.Tests;

namespace IncidentBot.Slack.Tests;

/// <summary>The built host as a process: a Slack configuration mistake stops start-up with one line naming the key.</summary>
public sealed class SlackStartupTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("Slack__BotToken", "xoxb-1", "Slack:SigningSecret is required")]
    [InlineData("Slack__SigningSecret", "s3cret", "Slack:BotToken is required")]
    [InlineData("Slack__ChannelPrefix", "Incidents!", "Slack:ChannelPrefix must be")]
    [InlineData("Slack__SocketModeLivenessTimeout", "00:01:00", "Slack:SocketModeLivenessTimeout must be between 00:00:01 and 00:00:30")]
    public async Task Run_WithInvalidSlackSetting_ExitsWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        var environment = new Dictionary<string, string?> { [variable] = value };
        if (variable is "Slack__ChannelPrefix" or "Slack__SocketModeLivenessTimeout")
        {
            environment["Slack__BotToken"] = "xoxb-1";
            environment["Slack__SigningSecret"] = "s3cret";
        }

        await using var host = HostProcess.Start(environment);
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("IncidentBot cannot start:", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", line, StringComparison.Ordinal);
    }
}
