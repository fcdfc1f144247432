using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Paging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Paging.Tests;

/// <summary>Fake PagerDuty, Opsgenie and webhook servers on loopback, and the paging services pointed at them.</summary>
public sealed class PagerFixture<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    public TDatabase Database { get; } = new();
    public FakePagerDuty PagerDuty { get; } = new();
    public FakeOpsgenie Opsgenie { get; } = new();
    public WebhookReceiver Webhook { get; } = new();
    public ServiceProvider Services { get; private set; } = null!;

    public static readonly Actor Ann = new(new Person("chat", "U1", "Ann"));

    public async Task InitializeAsync()
    {
        await Task.WhenAll(Database.InitializeAsync(), PagerDuty.StartAsync(), Opsgenie.StartAsync(), Webhook.StartAsync());
        Services = CreateServices();
    }

    /// <summary>The paging services; on <paramref name="clock"/> when given, so a test moves their time itself.</summary>
    public ServiceProvider CreateServices(IDictionary<string, string?>? extra = null, TimeProvider? clock = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Paging:PagerDuty:EventsUrl"] = PagerDuty.EventsUrl.ToString(),
            ["Paging:PagerDuty:RoutingKey"] = FakePagerDuty.RoutingKey,
            ["Paging:Opsgenie:ApiUrl"] = Opsgenie.BaseAddress.ToString(),
            ["Paging:Opsgenie:ApiKey"] = FakeOpsgenie.ApiKey,
            ["Paging:Webhook:Url"] = Webhook.Url.ToString(),
            ["Paging:Webhook:Secret"] = WebhookReceiver.Secret,
            ["Paging:RetryDelay"] = "00:00:00.050",
            ["Paging:MaxRetryDelay"] = "00:00:02",
            ["Paging:MaxAttempts"] = "4",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return Database.CreateServices(
            builder =>
            {
                if (clock is not null)
                {
                    builder.Services.AddSingleton(clock);
                }

                builder.AddIncidentEngine();
                builder.AddPaging();
            },
            settings);
    }

    public async Task<Incident> DeclareAsync(string title = "Checkout is down", Severity severity = Severity.Sev1) =>
        (await Services.GetRequiredService<IncidentService>().DeclareAsync(new DeclareRequest(title, severity), Ann, default)).Incident;

    public async Task DisposeAsync()
    {
        await Services.DisposeAsync();
        await PagerDuty.DisposeAsync();
        await Opsgenie.DisposeAsync();
        await Webhook.DisposeAsync();
        await Database.DisposeAsync();
    }
}
