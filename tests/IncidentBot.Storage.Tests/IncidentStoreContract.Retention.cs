using Dapper;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task PruneAsync_FinishedWorkPastItsAge_GoesWhilePendingNewerAndStillNeededStays()
    {
        var resolved = await DeclareAsync("Old and resolved", warRoom: new ChatSpace("teams", "19:room@thread.v2"));
        await Incidents.ResolveAsync(resolved.Number, "fixed", AsAlice, None);
        var open = await DeclareAsync("Old but still open");
        // Checked in, so this instance's claims hold until their lease ends.
        await Outbox.CheckInAsync(starting: false, None);
        // Every event of the resolved incident delivered; the open one's first event still leased, the rest behind it.
        var deliveries = new List<OutboxDelivery>();
        for (var batch = await ClaimAllAsync(); batch.Count > 0; batch = await ClaimAllAsync())
        {
            deliveries.AddRange(batch);
            foreach (var delivery in batch.Where(d => d.Event.IncidentId == resolved.Id))
            {
                await Outbox.CompleteAsync(delivery.MessageId, delivery.Handler, None);
            }
        }

        var openMessages = await CountAsync("outbox", open.Id);

        await InsertFrontEndRowsAsync("old", Now);
        await InsertLedgerRowAsync(resolved.Id, "trigger", "pagerduty", "sent");
        await InsertLedgerRowAsync(resolved.Id, "trigger", "opsgenie", "sending");
        await InsertLedgerRowAsync(open.Id, "trigger", "pagerduty", "sent");
        await ExecuteAtAsync("INSERT INTO teams_conversations (conversation_id, service_url, bot_id, updated_at) VALUES ('19:room@thread.v2', 'https://smba/', '28:bot', @Now)");

        Clock.Advance(TimeSpan.FromDays(31));
        await InsertFrontEndRowsAsync("new", Now);
        await InsertFrontEndRowsAsync("yesterday", Now - TimeSpan.FromDays(1));
        await Incidents.PostUpdateAsync(open.Number, "Still digging", AsAlice, None);

        var report = await new RetentionPruner(
            Services.GetRequiredService<IDbConnectionFactory>(), Services.GetServices<TableSet>(), Clock, Options.Create(new RetentionOptions { BatchSize = 2 }), NullLogger<RetentionPruner>.Instance)
            .PruneAsync(None);

        Assert.Equal(0, await CountAsync("outbox", resolved.Id));
        Assert.Equal(0, await CountAsync("outbox_deliveries", resolved.Id));
        Assert.Equal(openMessages + 1, await CountAsync("outbox", open.Id));
        Assert.Equal(openMessages, await CountAsync("outbox_deliveries", open.Id));
        Assert.Equal(["opsgenie"], await QueryStringsAsync("SELECT target FROM page_ledger WHERE incident_id = @Id", resolved.Id));
        Assert.Equal(["pagerduty"], await QueryStringsAsync("SELECT target FROM page_ledger WHERE incident_id = @Id", open.Id));
        Assert.Equal(
            ["pager-webhooks:new", "pager-webhooks:yesterday", "slack-events:new", "slack-events:yesterday", "teams-activities:new", "teams-activities:yesterday"],
            await QueryStringsAsync("SELECT source || ':' || receipt_key FROM inbound_receipts ORDER BY 1"));
        Assert.Equal(["slack:new", "slack:yesterday", "teams:new", "teams:yesterday"], await QueryStringsAsync("SELECT platform || ':' || delivery_key FROM chat_deliveries ORDER BY 1"));
        Assert.Equal(
            ["19:chat-new", "19:chat-yesterday", "19:room@thread.v2"],
            await QueryStringsAsync("SELECT conversation_id FROM teams_conversations ORDER BY conversation_id"));
        Assert.Equal(deliveries.Count(d => d.Event.IncidentId == resolved.Id), report.Deleted["outbox"]);
        Assert.Equal(1, report.Deleted["page_ledger"]);
        Assert.Equal(1, report.Deleted["teams_conversations"]);
        Assert.NotNull(await Store.GetAsync(resolved.Number, None));
        Assert.NotEmpty(await Store.GetTimelineAsync(resolved.Id, None));
    }

    private Task<IReadOnlyList<OutboxDelivery>> ClaimAllAsync() => Outbox.ClaimAsync(new Dictionary<string, int> { ["slack"] = 100 }, Lease, None);

    private async Task InsertFrontEndRowsAsync(string name, DateTimeOffset at)
    {
        foreach (var source in new[] { "slack-events", "teams-activities", "pager-webhooks" })
        {
            await ExecuteAtAsync($"INSERT INTO inbound_receipts (source, receipt_key, received_at) VALUES ('{source}', '{name}', @At)", at);
        }

        await ExecuteAtAsync($"INSERT INTO chat_deliveries (platform, room, delivery_key, delivered_at) VALUES ('slack', 'C1', '{name}', @At)", at);
        await ExecuteAtAsync($"INSERT INTO chat_deliveries (platform, room, delivery_key, delivered_at) VALUES ('teams', '19:c', '{name}', @At)", at);
        await ExecuteAtAsync($"INSERT INTO teams_conversations (conversation_id, service_url, bot_id, updated_at) VALUES ('19:chat-{name}', 'https://smba/', '28:bot', @At)", at);
    }

    private Task InsertLedgerRowAsync(long incidentId, string action, string target, string status) =>
        ExecuteAtAsync(
            """
            INSERT INTO page_ledger (incident_id, action, level, loop, generation, target, status, attempts, created_at, claimed_until)
            VALUES (@Id, @Action, 1, 0, 1, @Target, @Status, 1, @At, @At)
            """,
            Now,
            new { Id = incidentId, Action = action, Target = target, Status = status });

    private async Task ExecuteAtAsync(string sql, DateTimeOffset? at = null, object? more = null)
    {
        await using var connection = await OpenAsync();
        var parameters = new DynamicParameters(more);
        parameters.Add("At", at ?? Now);
        parameters.Add("Now", Now);
        await connection.ExecuteAsync(sql, parameters);
    }

    private async Task<long> CountAsync(string table, long incidentId) =>
        await QueryScalarAsync<long>($"SELECT COUNT(*) FROM {table} WHERE incident_id = @Id", new { Id = incidentId });

    private async Task<string[]> QueryStringsAsync(string sql, long? incidentId = null)
    {
        await using var connection = await OpenAsync();
        return (await connection.QueryAsync<string>(sql, new { Id = incidentId })).ToArray();
    }
}
