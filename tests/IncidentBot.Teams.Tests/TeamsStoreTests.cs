using IncidentBot.Storage;
using IncidentBot.Teams.Storage;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Tests;

public sealed class SqliteTeamsStoreTests : TeamsStoreTests<SqliteTestDatabase>;

public sealed class PostgresTeamsStoreTests : TeamsStoreTests<PostgresTestDatabase>;

/// <summary>The Teams tables through <see cref="TeamsStore"/>, and its activity receipts, on each database.</summary>
public abstract class TeamsStoreTests<TDatabase> : IAsyncLifetime
    where TDatabase : TestDatabase, new()
{
    private readonly TDatabase _database = new();
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 22, 4, 0, 0, TimeSpan.Zero));
    private ServiceProvider _services = null!;

    private TeamsStore Store => new(_services.GetRequiredService<IDbConnectionFactory>(), _clock);

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _services = _database.CreateServices();
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _database.DisposeAsync();
    }

    private InboundReceipts Receipts => new(_services.GetRequiredService<IDbConnectionFactory>(), _clock);

    private static InboundReceipt Activity(string conversationId, string activityId) => InboundReceipt.Of(TeamsTables.ActivityReceipts, conversationId, activityId);

    [Fact]
    public async Task ActivityReceipt_Redelivered_FalseUntilPrunedOrForgotten()
    {
        Assert.True(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1001"), default));
        Assert.False(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1001"), default));
        Assert.True(await Receipts.TryRecordAsync(Activity("19:other@thread.v2", "1001"), default));

        await Receipts.ForgetAsync(Activity("19:c@thread.v2", "1001"), default);
        Assert.True(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1001"), default));

        var keep = new RetentionOptions().ReceiptAge;
        _clock.Advance(keep + TimeSpan.FromMinutes(1));
        Assert.True(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1002"), default));
        var pruned = await new RetentionPruner(_services.GetRequiredService<IDbConnectionFactory>(), [TeamsTables.Set], _clock, Options.Create(new RetentionOptions()), NullLogger<RetentionPruner>.Instance).PruneAsync(default);
        Assert.Equal(2, pruned.Deleted["inbound_receipts:teams-activities"]);
        Assert.False(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1002"), default));
        Assert.True(await Receipts.TryRecordAsync(Activity("19:c@thread.v2", "1001"), default));
    }

    [Fact]
    public async Task SaveConversation_LaterActivityWithoutMeeting_KeepsKnownContext()
    {
        await Store.SaveConversationAsync(new ConversationReference("19:m@thread.v2", "https://smba.trafficmanager.net/emea/", "t1", "groupChat", null, null, "MEETING-1", "28:bot", "IncidentBot"), default);
        await Store.SaveConversationAsync(new ConversationReference("19:m@thread.v2", "https://smba.trafficmanager.net/amer/", null, null, null, null, null, "28:bot", null), default);

        var reference = await Store.GetConversationAsync("19:m@thread.v2", default);

        Assert.Equal(new ConversationReference("19:m@thread.v2", "https://smba.trafficmanager.net/amer/", "t1", "groupChat", null, null, "MEETING-1", "28:bot", "IncidentBot"), reference);
        Assert.Null(await Store.GetConversationAsync("19:unknown@thread.v2", default));
    }

    [Fact]
    public async Task SaveNewConversation_AlreadyKnown_KeepsTheKnownReference()
    {
        var known = new ConversationReference("19:t@thread.tacv2", "https://smba.trafficmanager.net/emea/", "t1", "channel", "19:team", "19:t@thread.tacv2", null, "28:bot", "IncidentBot");
        await Store.SaveConversationAsync(known, default);

        await Store.SaveNewConversationAsync(known with { ServiceUrl = "https://smba.trafficmanager.net/amer/", TeamId = null }, default);
        await Store.SaveNewConversationAsync(known with { ConversationId = "19:new@thread.v2", ConversationType = "groupChat" }, default);

        Assert.Equal(known, await Store.GetConversationAsync("19:t@thread.tacv2", default));
        Assert.Equal(known with { ConversationId = "19:new@thread.v2", ConversationType = "groupChat" }, await Store.GetConversationAsync("19:new@thread.v2", default));
    }
}
