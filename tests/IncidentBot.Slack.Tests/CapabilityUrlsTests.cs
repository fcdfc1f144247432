using IncidentBot.Slack.WebApi;

namespace IncidentBot.Slack.Tests;

public sealed class CapabilityUrlsTests
{
    [Theory]
    [InlineData("https://hooks.slack.com/actions/T012/345/AbCdEf", "https://hooks.slack.com/actions/[redacted]")]
    [InlineData("https://hooks.slack.com/commands/T012/345/AbCdEf?x=1", "https://hooks.slack.com/commands/[redacted]?[redacted]")]
    [InlineData("https://files.slack.com/upload/v1/CwABAAAAXAoAAZcW", "https://files.slack.com/upload/[redacted]")]
    [InlineData("https://slack.com/api/chat.postMessage", "https://slack.com/api/chat.postMessage")]
    [InlineData("https://events.pagerduty.com/v2/enqueue?token=abc", "https://events.pagerduty.com/v2/enqueue?[redacted]")]
    public void CapabilityUrls_Redact(string url, string expected) => Assert.Equal(expected, CapabilityUrls.Redact(new Uri(url)));
}
