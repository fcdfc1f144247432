using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests;

/// <summary>The real host on a test database, with extra settings and service overrides.</summary>
public sealed class BotFactory(TestDatabase database, IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public const string ApiToken = "test-token-0123456789abcdef";

    /// <summary>Settings that win over all others and can be changed while the host runs, as a configuration reload would.</summary>
    public LiveSettings Live { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        var all = new Dictionary<string, string?>(database.Configuration)
        {
            ["Api:Tokens:0"] = ApiToken,
            // Quartz keeps schedulers in a process-wide repository by name; each host needs its own.
            ["Scheduler:Name"] = $"test-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        // UseSetting lands in configuration before Program reads it (the scheduler's database is read eagerly).
        foreach (var (key, value) in all)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration((_, configuration) => configuration.Add(Live));
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }

    public HttpClient CreateApiClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiToken);
        return client;
    }
}

/// <summary>An in-memory configuration source whose changes are announced like a reloaded appsettings file.</summary>
public sealed class LiveSettings : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Change(string key, string? value)
    {
        Data[key] = value;
        OnReload();
    }
}
