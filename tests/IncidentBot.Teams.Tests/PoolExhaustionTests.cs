using System.Data.Common;
using System.Diagnostics;
using System.Net;
using IncidentBot.Core.Incidents;
using IncidentBot.Storage;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// The store's pool exhausted under the real host on a real PostgreSQL: an activity is refused with 503 and
/// Retry-After (the Bot Connector redelivers), and the redelivered activity is stored once.
/// </summary>
public sealed class PoolExhaustionTests : IAsyncLifetime
{
    private const string OpsChannel = "19:ops@thread.tacv2";

    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => _database.InitializeAsync();

    public Task DisposeAsync() => _database.DisposeAsync();

    [Fact]
    public async Task StorePoolExhausted_WarRoomMessage_503WithRetryAfterQuickly_RedeliveryStoredOnce()
    {
        await using var world = await TeamsWorld.StartAsync(_database, settings: new Dictionary<string, string?>
        {
            ["Teams:IncidentsChannelId"] = "19:incidents@thread.tacv2",
            [DatabaseOptions.MaxConnectionsKey] = "6",
        });
        await world.PostAsync(world.Activities.Command(OpsChannel, TeamsWorld.Ann, "declare sev2 Pool exhausted"));
        var thread = (await WaitForWarRoomAsync(world)).WarRooms[0].Channel;
        var message = world.Activities.Message(thread, TeamsWorld.Cy, "db pool at 100%");

        var database = world.Services.GetRequiredService<IDbConnectionFactory>();
        var held = new List<DbConnection>();
        try
        {
            for (var i = 0; i < ConnectionBudget.Split(6).Store; i++)
            {
                held.Add(await database.OpenConnectionAsync(default));
            }

            var watch = Stopwatch.StartNew();
            using var refused = await world.PostAsync(message);
            var took = watch.Elapsed;

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "no Retry-After");
            // Npgsql's own wait for a busy pool is its connect Timeout, 15 s by default.
            Assert.True(took < TimeSpan.FromSeconds(10), $"refused only after {took.TotalSeconds:0.0} s");
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await world.PostAsync(message)).StatusCode);
        Assert.Single(await world.TimelineAsync(1), e => e.Source?.MessageId == (string?)message["id"]);
    }

    private static async Task<Incident> WaitForWarRoomAsync(TeamsWorld world)
    {
        Incident? opened = null;
        await Eventually.HoldsAsync(
            async () => (opened = await world.Store.GetAsync(new IncidentNumber(1), default)) is { WarRooms.Count: 1 },
            "the war room of INC-1 to be opened");
        return opened!;
    }
}
