using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging.Tests;

/// <summary>Bad paging or escalation settings fail start-up with a message naming the key.</summary>
public sealed class PagingOptionsTests : IAsyncLifetime
{
    private readonly PagerFixture<SqliteTestDatabase> _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Theory]
    [InlineData("Paging:PagerDuty:EventsUrl", "http://events.example.com/v2/enqueue", "Paging:PagerDuty:EventsUrl must be an https:// URL")]
    [InlineData("Paging:Opsgenie:ApiUrl", "not a url", "Paging:Opsgenie:ApiUrl must be an https:// URL")]
    [InlineData("Paging:Webhook:Secret", "plain-secret", "Paging:Webhook:Secret must be a Standard Webhooks secret")]
    [InlineData("Paging:MaxAttempts", "0", "Paging:MaxAttempts must be between 1 and 20")]
    [InlineData("Paging:PagerDuty:WebhookSecret", "<your webhook secret>", "Paging:PagerDuty:WebhookSecret holds a placeholder")]
    [InlineData("Paging:PagerDuty:WebhookMaxAge", "00:00:00", "Paging:PagerDuty:WebhookMaxAge must be a positive time span")]
    [InlineData("Paging:Opsgenie:WebhookToken", "changeme-please-0123456789abcdef", "Paging:Opsgenie:WebhookToken holds a placeholder")]
    [InlineData("Paging:Opsgenie:WebhookToken", "short-token", "Paging:Opsgenie:WebhookToken must be at least 24 characters")]
    [InlineData("Paging:ClaimLease", "00:00:00.500", "Paging:ClaimLease must be between 00:00:01 and 00:10:00")]
    [InlineData("Paging:SweepInterval", "02:00:00", "Paging:SweepInterval must be between 00:00:01 and 01:00:00")]
    public async Task PagingOptions_Invalid_FailNamingTheKey(string key, string value, string expected)
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { [key] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<PagingOptions>>().Value);

        Assert.Contains(failure.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Escalation:Levels:0:Targets:0", "slack", "Escalation:Levels:0:Targets:0: 'slack' is not a target: use pagerduty, pagerduty:<service>, opsgenie")]
    [InlineData("Escalation:Levels:0:Targets:0", "opsgenie:squad:Payments", "Escalation:Levels:0:Targets:0: 'opsgenie:squad:Payments' is not a target")]
    [InlineData("Escalation:Levels:0:Targets:0", "pagerduty:payments", "Escalation:Levels:0:Targets:0 names the PagerDuty service 'payments', but Paging:PagerDuty:RoutingKeys:payments is not set")]
    [InlineData("Escalation:Levels:0:Delay", "-00:01:00", "Escalation:Levels:0:Delay must be zero or a positive time span")]
    [InlineData("Escalation:RepeatDelay", "00:00:00", "Escalation:RepeatDelay must be a positive time span")]
    [InlineData("Escalation:PageSeverities:0", "SEV9", "Escalation:PageSeverities:0 must be SEV1 to SEV4")]
    [InlineData("Escalation:Repeat", "12", "Escalation:Repeat must be between 0 and 9")]
    public async Task EscalationOptions_Invalid_FailNamingTheKey(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { ["Escalation:Levels:0:Targets:0"] = "pagerduty", [key] = value };
        await using var services = _fixture.CreateServices(settings);

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<EscalationOptions>>().Value);

        Assert.Contains(failure.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EscalationPolicy_TargetNotConfigured_IsLeftOutAndEmptyLevelsDropped()
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?>
        {
            ["Paging:Opsgenie:ApiKey"] = "",
            ["Escalation:Levels:0:Targets:0"] = "opsgenie",
            ["Escalation:Levels:1:Targets:0"] = "opsgenie",
            ["Escalation:Levels:1:Targets:1"] = "PagerDuty",
            ["Escalation:Levels:1:Delay"] = "00:10:00",
        });

        var policy = services.GetRequiredService<EscalationPolicy>();

        var level = Assert.Single(policy.Levels);
        Assert.Equal(1, level.Number);
        Assert.Equal([Pagers.PagerDuty], level.Targets);
        Assert.Equal(TimeSpan.FromMinutes(10), level.Delay);
    }

    [Fact]
    public async Task EscalationPolicy_NoLevels_IsOneLevelOfEveryConfiguredPager()
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?> { ["Paging:Webhook:Url"] = "" });

        var policy = services.GetRequiredService<EscalationPolicy>();

        var level = Assert.Single(policy.Levels);
        Assert.Equal([Pagers.PagerDuty, Pagers.Opsgenie], level.Targets);
        Assert.Equal([Core.Incidents.Severity.Sev1, Core.Incidents.Severity.Sev2], policy.PageSeverities.Order().ToArray());
        Assert.Null(policy.Next(1, 0));
    }

    [Fact]
    public async Task EscalationPolicy_LevelsAndRepeat_WalksLevelsThenLoops()
    {
        await using var services = _fixture.CreateServices(new Dictionary<string, string?>
        {
            ["Escalation:Levels:0:Targets:0"] = "pagerduty",
            ["Escalation:Levels:0:Delay"] = "00:00:00",
            ["Escalation:Levels:1:Targets:0"] = "opsgenie",
            ["Escalation:Levels:1:Delay"] = "00:00:05",
            ["Escalation:RepeatDelay"] = "00:01:00",
            ["Escalation:Levels:1:Targets:1"] = "webhook",
            ["Escalation:Repeat"] = "1",
            ["Escalation:PageSeverities:0"] = "sev1",
        });

        var policy = services.GetRequiredService<EscalationPolicy>();

        Assert.Equal(2, policy.Levels.Count);
        Assert.Equal(TimeSpan.Zero, policy.Levels[0].Delay);
        Assert.Equal((2, 0, TimeSpan.FromSeconds(5)), policy.Next(1, 0));
        Assert.Equal((1, 1, TimeSpan.FromMinutes(1)), policy.Next(2, 0));
        Assert.Null(policy.Next(2, 1));
        Assert.Equal([Core.Incidents.Severity.Sev1], policy.PageSeverities.ToArray());
    }
}
