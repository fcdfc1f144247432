using System.Collections.Concurrent;
using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task DeclareAsync_Events_AreQueuedInOrderWithTheStoredIncidentId()
    {
        var request = new DeclareRequest("Checkout is failing", Severity.Sev1) { Commander = Bob, Responders = [Carol] };
        var incident = (await Incidents.DeclareAsync(request, AsAlice, None)).Incident;

        var first = Assert.Single(await Outbox.ClaimAsync(10, Lease, None));
        await Outbox.CompleteAsync(first.Id, None);
        var second = Assert.Single(await Outbox.ClaimAsync(10, Lease, None));
        await Outbox.CompleteAsync(second.Id, None);

        var declared = Assert.IsType<IncidentDeclared>(first.Event);
        Assert.Equal((incident.Id, incident.Number, Alice, Origin), (declared.IncidentId, declared.Number, declared.Actor, declared.Origin));
        Assert.Equal(("Checkout is failing", Severity.Sev1), (declared.Title, declared.Severity));
        Assert.Equal([Carol], declared.Responders);
        Assert.Equal(incident.DeclaredAt, declared.OccurredAt);
        Assert.Equal(TimeSpan.Zero, declared.OccurredAt.Offset);
        Assert.Equal(1, first.Attempts);
        var assigned = Assert.IsType<RoleAssigned>(second.Event);
        Assert.Equal((incident.Id, IncidentRole.Commander, Bob, (Person?)null), (assigned.IncidentId, assigned.Role, assigned.Holder, assigned.Previous));
        Assert.True(first.Id < second.Id);
        Assert.Empty(await Outbox.ClaimAsync(10, Lease, None));
    }

    [Fact]
    public async Task DeclareAsync_EventPayload_IsCamelCaseJsonWithTypeDiscriminator()
    {
        var incident = await DeclareAsync("Checkout is failing", Severity.Sev2);

        var eventType = await QueryScalarAsync<string>("SELECT event_type FROM outbox WHERE incident_id = @Id", new { incident.Id });
        var payload = await QueryScalarAsync<string>("SELECT payload FROM outbox WHERE incident_id = @Id", new { incident.Id });

        Assert.Equal("declared", eventType);
        using var json = JsonDocument.Parse(payload);
        Assert.Equal("declared", json.RootElement.GetProperty("type").GetString());
        Assert.Equal(incident.Id, json.RootElement.GetProperty("incidentId").GetInt64());
        Assert.Equal(1, json.RootElement.GetProperty("number").GetInt32());
        Assert.Equal("Checkout is failing", json.RootElement.GetProperty("title").GetString());
        Assert.Equal("sev2", json.RootElement.GetProperty("severity").GetString());
        Assert.Equal(DatabaseTime.ToIsoText(Start), json.RootElement.GetProperty("occurredAt").GetString());
    }

    [Fact]
    public async Task ClaimAsync_SecondEventOfIncident_NotClaimableUntilFirstCompletes()
    {
        var first = await DeclareAsync("First");
        await Incidents.AddNoteAsync(first.Number, "Second event of the first incident", AsAlice, None);
        var second = await DeclareAsync("Second");

        var claimed = await Outbox.ClaimAsync(10, Lease, None);
        var whileLeased = await Outbox.ClaimAsync(10, Lease, None);
        await Outbox.CompleteAsync(claimed.Single(m => m.Event.IncidentId == first.Id).Id, None);
        var afterComplete = await Outbox.ClaimAsync(10, Lease, None);

        Assert.Equal([(first.Id, typeof(IncidentDeclared)), (second.Id, typeof(IncidentDeclared))], claimed.Select(m => (m.Event.IncidentId, m.Event.GetType())));
        Assert.Empty(whileLeased);
        var note = Assert.IsType<NoteAdded>(Assert.Single(afterComplete).Event);
        Assert.Equal((first.Id, "Second event of the first incident"), (note.IncidentId, note.Text));
    }

    [Fact]
    public async Task ClaimAsync_Max_LimitsTheBatchToTheOldest()
    {
        var incidents = new List<Incident>();
        for (var i = 0; i < 5; i++)
        {
            incidents.Add(await DeclareAsync($"Incident {i}"));
        }

        var batch = await Outbox.ClaimAsync(2, Lease, None);

        Assert.Equal(incidents.Take(2).Select(i => i.Id), batch.Select(m => m.Event.IncidentId));
        Assert.Empty(await Outbox.ClaimAsync(0, Lease, None));
    }

    [Fact]
    public async Task ClaimAsync_LeaseExpired_MessageIsClaimableAgain()
    {
        await DeclareAsync();
        var claimed = Assert.Single(await Outbox.ClaimAsync(10, TimeSpan.FromSeconds(30), None));

        Clock.Advance(TimeSpan.FromSeconds(29));
        var beforeExpiry = await Outbox.ClaimAsync(10, TimeSpan.FromSeconds(30), None);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var afterExpiry = await Outbox.ClaimAsync(10, TimeSpan.FromSeconds(30), None);

        Assert.Empty(beforeExpiry);
        var reclaimed = Assert.Single(afterExpiry);
        Assert.Equal(claimed.Id, reclaimed.Id);
        Assert.Equal((1, 2), (claimed.Attempts, reclaimed.Attempts));
    }

    [Fact]
    public async Task ClaimAsync_ConcurrentClaimersOnSeparateInstances_NeverGetTheSameMessage()
    {
        for (var i = 0; i < 40; i++)
        {
            await Store.DeclareAsync(number => NewIncident(number, $"Incident {i}"), None);
        }

        var instances = Enumerable.Range(0, 4).Select(_ => CreateServices(Database)).ToList();
        var claims = new ConcurrentBag<long>();
        try
        {
            await Task.WhenAll(instances.Select(instance => Task.Run(async () =>
            {
                var outbox = instance.GetRequiredService<IOutbox>();
                while (await outbox.ClaimAsync(3, Lease, None) is { Count: > 0 } batch)
                {
                    foreach (var message in batch)
                    {
                        claims.Add(message.Id);
                    }
                }
            })));
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        // A claimer may stop early while others hold rows locked; whatever is left is claimed here.
        foreach (var message in await Outbox.ClaimAsync(100, Lease, None))
        {
            claims.Add(message.Id);
        }

        Assert.Equal(40, claims.Count);
        Assert.Equal(40, claims.Distinct().Count());
    }

    [Fact]
    public async Task RetryLaterAsync_ClaimedMessage_IsDueAgainOnlyAtNotBeforeAndBlocksItsIncident()
    {
        await DeclareAsync(commander: Bob);
        var claimed = Assert.Single(await Outbox.ClaimAsync(10, Lease, None));
        var notBefore = Now + TimeSpan.FromMinutes(2);

        await Outbox.RetryLaterAsync(claimed.Id, notBefore, "slack: ratelimited", None);
        var beforeNotBefore = await Outbox.ClaimAsync(10, Lease, None);
        Clock.Advance(TimeSpan.FromMinutes(2));
        var atNotBefore = await Outbox.ClaimAsync(10, Lease, None);

        Assert.Empty(beforeNotBefore);
        var retried = Assert.Single(atNotBefore);
        Assert.Equal((claimed.Id, 2), (retried.Id, retried.Attempts));
        Assert.IsType<IncidentDeclared>(retried.Event);
        Assert.Equal("slack: ratelimited", await QueryScalarAsync<string>("SELECT last_error FROM outbox WHERE id = @Id", new { claimed.Id }));
    }

    [Fact]
    public async Task FailAsync_ClaimedMessage_IsNeverClaimedAgainAndUnblocksItsIncident()
    {
        await DeclareAsync(commander: Bob);
        var claimed = Assert.Single(await Outbox.ClaimAsync(10, Lease, None));

        await Outbox.FailAsync(claimed.Id, "slack: channel_not_found", None);
        Clock.Advance(Lease * 2);
        var next = await Outbox.ClaimAsync(10, Lease, None);

        Assert.IsType<RoleAssigned>(Assert.Single(next).Event);
        Assert.Equal("slack: channel_not_found", await QueryScalarAsync<string>("SELECT last_error FROM outbox WHERE id = @Id", new { claimed.Id }));
        Assert.True(await QueryScalarAsync<bool>("SELECT failed_at IS NOT NULL FROM outbox WHERE id = @Id", new { claimed.Id }));
        Clock.Advance(Lease * 2);
        Assert.DoesNotContain(claimed.Id, (await Outbox.ClaimAsync(10, Lease, None)).Select(m => m.Id));
    }

    [Fact]
    public async Task ClaimAsync_UnreadablePayload_MarksItFailedAndMovesOn()
    {
        var incident = await DeclareAsync();
        await Outbox.CompleteAsync(Assert.Single(await Outbox.ClaimAsync(10, Lease, None)).Id, None);
        await using (var connection = await OpenAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(
                connection,
                """
                INSERT INTO outbox (incident_id, event_type, payload, created_at, available_at)
                VALUES (@Id, 'from_the_future', @Payload, @Now, @Now)
                """,
                new { incident.Id, Payload = new JsonText("""{"type":"from_the_future"}"""), Now });
        }

        await Incidents.AddNoteAsync(incident.Number, "After the unreadable one", AsAlice, None);

        Assert.Empty(await Outbox.ClaimAsync(10, Lease, None));
        Assert.Contains("from_the_future", await QueryScalarAsync<string>("SELECT last_error FROM outbox WHERE event_type = 'from_the_future'"));
        Assert.IsType<NoteAdded>(Assert.Single(await Outbox.ClaimAsync(10, Lease, None)).Event);
    }

    [Fact]
    public async Task CompleteAsync_DeliveredMessage_IsNeverClaimedAgain()
    {
        await DeclareAsync();
        var claimed = Assert.Single(await Outbox.ClaimAsync(10, Lease, None));

        await Outbox.CompleteAsync(claimed.Id, None);
        Clock.Advance(Lease * 2);

        Assert.Empty(await Outbox.ClaimAsync(10, Lease, None));
        Assert.True(await QueryScalarAsync<bool>("SELECT delivered_at IS NOT NULL FROM outbox WHERE id = @Id", new { claimed.Id }));
    }
}
