using System.Globalization;
using System.Net;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Security;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// What an unsigned caller can cost on real Kestrel: bodies read up to 1 MB and no further (413), a client that keeps
/// failing the signature check turned away with 429 before its body is read; and capability URLs kept out of logs.
/// </summary>
public sealed class SlackInboundLimitsTests : SlackOnSqliteTest
{
    private const long SlackHttpReceiverLimit = 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData("/slack/commands")]
    [InlineData("/slack/events")]
    public async Task Post_EndlessChunkedBody_Returns413AndHangsUpWithoutReadingToTheEnd(string path)
    {
        await using var host = SlackHost.Start(Database, FakeSlack, kestrel: true);
        var server = host.Client.BaseAddress!;
        await using var connection = await RawHttpConnection.OpenAsync(server);
        await connection.SendHeadAsync("POST", path, server, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Transfer-Encoding"] = "chunked",
            ["X-Slack-Request-Timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ["X-Slack-Signature"] = "v0=" + new string('0', 64),
        });

        while (connection.BodyBytesSent <= 1100 * 1024)
        {
            await connection.SendChunkAsync(16 * 1024);
        }

        Assert.Equal(413, await connection.ReadStatusAsync(Timeout));
        Assert.True(await connection.ServerHangsUpAsync(Timeout, ct => connection.SendChunkAsync(16 * 1024, ct)), "the server kept reading the endless body");
    }

    [Fact]
    public async Task Post_DeclaredContentLengthOverLimit_Returns413WithoutWaitingForTheBody()
    {
        await using var host = SlackHost.Start(Database, FakeSlack, kestrel: true);
        var server = host.Client.BaseAddress!;
        await using var connection = await RawHttpConnection.OpenAsync(server);
        await connection.SendHeadAsync("POST", "/slack/interactions", server, new Dictionary<string, string>
        {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Content-Length"] = (50 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
        });

        Assert.Equal(413, await connection.ReadStatusAsync(Timeout));
    }

    [Fact]
    public async Task Post_Endpoints_GiveKestrelTheirBodyLimit()
    {
        var limits = new List<long?>();
        await using var host = SlackHost.Start(Database, FakeSlack, kestrel: true, services: services => services.AddSingleton<IStartupFilter>(new RecordBodyLimit(limits)));

        using var request = host.Signer.Form("/slack/commands", SlackPayloads.Command("help", "UANN", "ann", "CGENERAL"));
        Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(request)).StatusCode);

        lock (limits)
        {
            Assert.Equal(SlackHttpReceiverLimit, Assert.Single(limits));
        }
    }

    [Fact]
    public async Task Commands_RepeatedBadSignatures_Returns429WithRetryAfterEvenForAGoodOne()
    {
        await using var host = SlackHost.Start(Database, FakeSlack, kestrel: true);
        var fields = SlackPayloads.Command("declare sev1 Guessing", "UANN", "ann", "CGENERAL");
        var forger = new SlackSigner("not-the-signing-secret-at-all-0000");

        for (var i = 0; i < FailureLimiter.FailuresPerWindow; i++)
        {
            using var bad = forger.Form("/slack/commands", fields);
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.SendAsync(bad)).StatusCode);
        }

        using var good = host.Signer.Form("/slack/commands", fields);
        var refused = await host.SendAsync(good);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), refused.Headers.RetryAfter?.Delta);
        Assert.Empty(await host.Store.ListAsync(new IncidentQuery(), default));
    }

    [Fact]
    public async Task Commands_ManySignedRequests_NeverThrottled()
    {
        await using var host = SlackHost.Start(Database, FakeSlack, kestrel: true);

        for (var i = 0; i < FailureLimiter.FailuresPerWindow * 2; i++)
        {
            using var request = host.Signer.Form("/slack/commands", SlackPayloads.Command("help", "UANN", "ann", "CGENERAL"));
            Assert.Equal(HttpStatusCode.OK, (await host.SendAsync(request)).StatusCode);
        }
    }

    [Fact]
    public async Task ResponseUrlAndUploadUrl_NeverWrittenToTheLog()
    {
        const string Secret = "T0CAPABILITY-1234567-s3cr3tp4th";
        var general = FakeSlack.AddChannel("general");
        FakeSlack.AddUser("UANN00001", "ann");
        await using var host = SlackHost.Start(Database, FakeSlack, extra: new Dictionary<string, string?> { ["Dashboard:PublicUrl"] = "https://incidents.example.com/" });

        // A card action on an incident that does not exist is answered through its response_url.
        var action = SlackPayloads.BlockAction("UANN00001", "ann", general.Id, "card:INC-7:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, "INC-7"), new Uri(FakeSlack.BaseAddress, "respond/" + Secret));
        await host.Transport.InteractionAsync(action);
        await FakeSlackServer.WaitUntilAsync(() => FakeSlack.Responses.Count == 1, "the response_url post");

        // A postmortem in a war room uploads the draft to the upload URL Slack handed out.
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", "UANN00001", "ann", general.Id));
        var incident = await host.WaitForIncidentAsync(new IncidentNumber(1), i => i.WarRooms.Count == 1, "the war room");
        await host.Transport.CommandAsync(SlackPayloads.Command("postmortem", "UANN00001", "ann", incident.WarRooms.Single().Channel));
        await FakeSlackServer.WaitUntilAsync(() => FakeSlack.Files.Values.Any(f => f.Content is not null), "the uploaded draft");
        var fileId = FakeSlack.Files.Keys.Single();

        var logs = host.Logs.GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Message.Contains("s3cr3tp4th", StringComparison.Ordinal) || r.Message.Contains("upload/" + fileId, StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains("Slack HTTP POST", StringComparison.Ordinal) && r.Message.Contains("/[redacted]", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains("Slack HTTP POST", StringComparison.Ordinal) && r.Message.Contains("/api/chat.postMessage", StringComparison.Ordinal));
    }

    /// <summary>Notes the request body limit routing left on each request to /slack/*.</summary>
    private sealed class RecordBodyLimit(List<long?> limits) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                await nextMiddleware(context);
                if (context.Request.Path.StartsWithSegments("/slack"))
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
