using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Teams;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// The real host on Kestrel (real HTTP on loopback) and a test database, talking to a fake Bot Framework token
/// issuer and a fake Bot Connector on loopback. Authenticated by default; <c>anonymous: true</c> leaves Teams:AppId
/// empty (local mode when opted in: <paramref name="environment"/> Development or Teams:LocalMode=true).
/// </summary>
public sealed class TeamsWorld : IAsyncDisposable
{
    public static readonly TeamsUser Ann = new("29:ann-mri", "aad-ann-0001", "Ann");
    public static readonly TeamsUser Bo = new("29:bo-mri", "aad-bo-0002", "Bo");
    public static readonly TeamsUser Cy = new("29:cy-mri", "aad-cy-0003", "Cy");

    private readonly WebApplicationFactory<Program> _factory;
    private readonly TestDatabase _database;
    private readonly bool _ownsDatabase;

    private TeamsWorld(FakeBotFrameworkIssuer issuer, FakeBotConnector connector, TestDatabase database, bool ownsDatabase, WebApplicationFactory<Program> factory, string? appId)
    {
        Issuer = issuer;
        Connector = connector;
        _database = database;
        _ownsDatabase = ownsDatabase;
        _factory = factory;
        AppId = appId;
        Activities = new TeamsActivities(connector.ServiceUrl);
        Client = factory.CreateClient();
    }

    public FakeBotFrameworkIssuer Issuer { get; }
    public FakeBotConnector Connector { get; }
    public TeamsActivities Activities { get; }
    public HttpClient Client { get; }
    public string? AppId { get; }

    public IServiceProvider Services => _factory.Services;

    public IIncidentStore Store => Services.GetRequiredService<IIncidentStore>();

    /// <summary>Everything the host logged.</summary>
    public FakeLogCollector Logs => Services.GetFakeLogCollector();

    public static async Task<TeamsWorld> StartAsync(
        TestDatabase? database = null,
        bool anonymous = false,
        IReadOnlyDictionary<string, string?>? settings = null,
        string environment = "Testing",
        Action<IServiceCollection>? services = null)
    {
        var ownsDatabase = database is null;
        database ??= new SqliteTestDatabase();
        if (ownsDatabase)
        {
            await database.InitializeAsync();
        }

        var issuer = await FakeBotFrameworkIssuer.StartAsync();
        var connector = await FakeBotConnector.StartAsync();
        var appId = anonymous ? null : issuer.ClientId;
        connector.AcceptToken = anonymous ? token => token is null : FakeBotFrameworkIssuer.Issued;

        var all = new Dictionary<string, string?>(database.Configuration)
        {
            ["Scheduler:Name"] = $"teams-test-{Guid.NewGuid():N}",
            ["Teams:AppId"] = appId ?? "",
            ["Teams:AppPassword"] = anonymous ? "" : issuer.ClientSecret,
            ["Teams:TenantId"] = anonymous ? "" : TeamsActivities.TenantId,
            ["Teams:OpenIdMetadataUrl"] = issuer.OpenIdMetadataUrl,
            ["Teams:TokenEndpoint"] = issuer.TokenEndpoint,
            ["Teams:AllowedServiceHosts:0"] = "127.0.0.1",
            ["Teams:SendInterval"] = "00:00:00.010",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment(environment);
            builder.UseUrls("http://127.0.0.1:0");
            foreach (var (key, value) in all)
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureLogging(logging => logging.AddFakeLogging());
            if (services is not null)
            {
                builder.ConfigureTestServices(services);
            }
        });
        factory.UseKestrel();
        factory.StartServer();
        return new TeamsWorld(issuer, connector, database, ownsDatabase, factory, appId);
    }

    public string ValidToken() => Issuer.Mint(new TokenSpec { Audience = AppId ?? "", ServiceUrl = Connector.ServiceUrl });

    /// <summary>POSTs an activity to /api/messages with a valid token (or <paramref name="token"/>; empty string: none).</summary>
    public async Task<HttpResponseMessage> PostAsync(JsonObject activity, string? token = null, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/messages")
        {
            Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        token ??= AppId is null ? "" : ValidToken();
        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Client.SendAsync(request);
    }

    public async Task<JsonObject> PostInvokeAsync(JsonObject activity)
    {
        var response = await PostAsync(activity);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"invoke answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task<Incident> IncidentAsync(int number) =>
        await Store.GetAsync(new IncidentNumber(number), default) ?? throw new InvalidOperationException($"INC-{number} does not exist.");

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(int number) =>
        await Store.GetTimelineAsync((await IncidentAsync(number)).Id, default);

    /// <summary>Waits for a timeline condition (outbox and replies run after the 200).</summary>
    public async Task<IReadOnlyList<TimelineEntry>> WaitForTimelineAsync(int number, Func<IReadOnlyList<TimelineEntry>, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var timeline = await TimelineAsync(number);
            if (condition(timeline) || DateTime.UtcNow > deadline)
            {
                return timeline;
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        await Connector.DisposeAsync();
        await Issuer.DisposeAsync();
        if (_ownsDatabase)
        {
            await _database.DisposeAsync();
        }
    }
}
