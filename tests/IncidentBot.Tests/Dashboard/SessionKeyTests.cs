using System.Net;
using Dapper;
using IncidentBot.Storage;
using IncidentBot.TestKit.Databases;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Tests.Dashboard;

/// <summary>
/// Data-protection keys live in the bot's database: a session cookie issued by one instance opens the dashboard
/// on another instance on the same database, and after a restart.
/// </summary>
public abstract class SessionKeyTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private readonly TDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task SessionCookie_FromOneInstance_OpensTheDashboardOnAnotherAndAfterRestart()
    {
        string cookie;
        await using (var first = new BotFactory(_database))
        await using (var second = new BotFactory(_database))
        {
            _ = second.Server; // both instances are up before anyone signs in
            var browser = first.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
            var signIn = await SignInTests.SignInAsync(browser, BotFactory.ApiToken, "/");
            cookie = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("incidentbot_session=", StringComparison.Ordinal)).Split(';')[0];

            Assert.Equal(HttpStatusCode.OK, await GetMetricsAsync(second, cookie));
            await using var connection = await first.Services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(default);
            Assert.True(await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM data_protection_keys") >= 1);
        }

        await using var restarted = new BotFactory(_database);
        Assert.Equal(HttpStatusCode.OK, await GetMetricsAsync(restarted, cookie));
    }

    private static async Task<HttpStatusCode> GetMetricsAsync(BotFactory host, string cookie)
    {
        var client = host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add("Cookie", cookie);
        return (await client.SendAsync(request)).StatusCode;
    }
}

public sealed class SqliteSessionKeyTests : SessionKeyTests<SqliteTestDatabase>;

public sealed class PostgresSessionKeyTests : SessionKeyTests<PostgresTestDatabase>;
