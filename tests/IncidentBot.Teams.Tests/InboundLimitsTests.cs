using System.Globalization;
using System.Net;
using IncidentBot.Core.Application;
using IncidentBot.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// What an unauthenticated caller can cost us on real Kestrel: bodies are read up to 512 KB and no further (413),
/// Kestrel itself is told the limit, and a client that keeps failing authentication is turned away (429) before
/// anything of its request is read.
/// </summary>
public sealed class InboundLimitsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PostMessages_EndlessChunkedBody_Returns413AndHangsUpWithoutReadingToTheEnd()
    {
        await using var world = await TeamsWorld.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(world.Client.BaseAddress!);
        await connection.SendHeadAsync("POST", "/api/messages", world.Client.BaseAddress!, new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer " + world.ValidToken(),
            ["Content-Type"] = "application/json",
            ["Transfer-Encoding"] = "chunked",
        });

        // Past the limit, then the body simply never ends: the answer must not wait for its end.
        while (connection.BodyBytesSent <= 600 * 1024)
        {
            await connection.SendChunkAsync(16 * 1024);
        }

        Assert.Equal(413, await connection.ReadStatusAsync(Timeout));
        Assert.True(await connection.ServerHangsUpAsync(Timeout, ct => connection.SendChunkAsync(16 * 1024, ct)), "the server kept reading the endless body");
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
    }

    [Fact]
    public async Task PostMessages_DeclaredContentLengthOverLimit_Returns413WithoutWaitingForTheBody()
    {
        await using var world = await TeamsWorld.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(world.Client.BaseAddress!);
        await connection.SendHeadAsync("POST", "/api/messages", world.Client.BaseAddress!, new Dictionary<string, string>
        {
            ["Authorization"] = "Bearer " + world.ValidToken(),
            ["Content-Type"] = "application/json",
            ["Content-Length"] = (100 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
        });

        Assert.Equal(413, await connection.ReadStatusAsync(Timeout));
    }

    [Fact]
    public async Task PostMessages_WithoutToken_Returns401BeforeReadingTheBody()
    {
        await using var world = await TeamsWorld.StartAsync();
        await using var connection = await RawHttpConnection.OpenAsync(world.Client.BaseAddress!);
        await connection.SendHeadAsync("POST", "/api/messages", world.Client.BaseAddress!, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/json",
            ["Content-Length"] = "400000",
        });

        Assert.Equal(401, await connection.ReadStatusAsync(Timeout));
    }

    [Fact]
    public async Task PostMessages_Endpoint_GivesKestrelItsBodyLimit()
    {
        var limits = new List<long?>();
        await using var world = await TeamsWorld.StartAsync(services: services => services.AddSingleton<IStartupFilter>(new RecordBodyLimit(limits)));

        var response = await world.PostAsync(world.Activities.Command("19:limits@thread.tacv2", TeamsWorld.Ann, "help"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        lock (limits)
        {
            Assert.Equal(512 * 1024, Assert.Single(limits));
        }
    }

    [Fact]
    public async Task PostMessages_RepeatedBadTokens_Returns429WithRetryAfterEvenForAGoodOne()
    {
        await using var world = await TeamsWorld.StartAsync();
        var forged = world.Issuer.Mint(new() { Audience = world.AppId!, ServiceUrl = world.Connector.ServiceUrl, Forged = true });
        var help = world.Activities.Command("19:limits@thread.tacv2", TeamsWorld.Ann, "help");

        for (var i = 0; i < Core.Security.FailureLimiter.FailuresPerWindow; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await world.PostAsync(help, forged)).StatusCode);
        }

        var refused = await world.PostAsync(help);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), refused.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task PostMessages_ManyGoodRequests_NeverThrottled()
    {
        await using var world = await TeamsWorld.StartAsync();

        for (var i = 0; i < Core.Security.FailureLimiter.FailuresPerWindow * 2; i++)
        {
            var response = await world.PostAsync(world.Activities.Message("19:limits@thread.tacv2", TeamsWorld.Ann, $"chatter {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    /// <summary>Notes the request body limit routing left on each request to /api/messages.</summary>
    private sealed class RecordBodyLimit(List<long?> limits) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                await nextMiddleware(context);
                if (context.Request.Path == "/api/messages")
                {
                    lock (limits)
                    {
                        limits.Add(context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize);
                    }
                }
            });
            next(app);
        };
    }
}
