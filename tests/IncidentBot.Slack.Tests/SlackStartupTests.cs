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

    [Theory]
    [InlineData("Slack__SigningSecret", "<from environment>", "Slack:SigningSecret holds a placeholder")]
    [InlineData("Slack__SigningSecret", "s3cret-but-short", "Slack:SigningSecret must be at least 24 characters")]
    [InlineData("Slack__BotToken", "<xoxb-… from environment>", "Slack:BotToken holds a placeholder")]
    [InlineData("Slack__AppToken", "xapp-changeme", "Slack:AppToken holds a placeholder")]
    public async Task Run_WithPlaceholderOrShortSecret_ExitsWithOneLineNamingTheKey(string variable, string value, string expected)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Slack__BotToken"] = "xoxb-1234-5678-abcdefghijkl",
            ["Slack__SigningSecret"] = "8f742231b10e8888abcd99yyyzzz85a5",
            [variable] = value,
        };

        await using var host = HostProcess.Start(environment);
        var exitCode = await host.WaitForExitAsync(StartTimeout);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(host.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("IncidentBot cannot start:", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain(value, line, StringComparison.Ordinal);
    }
}
