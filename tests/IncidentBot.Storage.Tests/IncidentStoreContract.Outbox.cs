using System.Collections.Concurrent;
using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    protected const string SlackHandler = "slack-war-rooms";
    protected const string TeamsHandler = "teams-war-rooms";
    protected const string ReminderHandler = "reminders";

    private static readonly string[] OnlySlack = [SlackHandler];
    private static readonly string[] SlackAndReminders = [SlackHandler, ReminderHandler];
    private static readonly string[] AllHandlers = [SlackHandler, TeamsHandler, ReminderHandler];

    /// <summary>Room for <paramref name="max"/> deliveries for each of <paramref name="handlers"/>.</summary>
    private static Dictionary<string, int> Room(IEnumerable<string> handlers, int max = 10) => handlers.ToDictionary(h => h, _ => max);

    private Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(IEnumerable<string> handlers, int max = 10, TimeSpan? lease = null) =>
        ClaimAsync(Outbox, Room(handlers, max), lease: lease);

    /// <summary>Claims as <paramref name="outbox"/>'s instance after checking in, as the processor does: a silent instance's claims are anyone's.</summary>
    private static async Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(
        IOutbox outbox, IReadOnlyDictionary<string, int> capacity, Func<string, Type, bool>? receives = null, TimeSpan? lease = null)
    {
        await outbox.CheckInAsync(starting: false, None);
        return receives is null
            ? await outbox.ClaimAsync(capacity, lease ?? Lease, None)
            : await outbox.ClaimAsync(capacity, receives, lease ?? Lease, None);
    }

    private Task CompleteAsync(OutboxDelivery delivery) => Outbox.CompleteAsync(delivery.MessageId, delivery.Handler, None);

    private Task<T> DeliveryColumnAsync<T>(OutboxDelivery delivery, string column) => QueryScalarAsync<T>(
        $"SELECT {column} FROM outbox_deliveries WHERE message_id = @MessageId AND handler = @Handler", new { delivery.MessageId, delivery.Handler });

    [Fact]
    public async Task DeclareAsync_Events_AreQueuedInOrderWithTheStoredIncidentId()
    {
        var request = new DeclareRequest("Checkout is failing", Severity.Sev1) { Commander = Bob, Responders = [Carol] };
        var incident = (await Incidents.DeclareAsync(request, AsAlice, None)).Incident;

        var first = Assert.Single(await ClaimAsync(OnlySlack));
        await CompleteAsync(first);
        var second = Assert.Single(await ClaimAsync(OnlySlack));
        await CompleteAsync(second);

        var declared = Assert.IsType<IncidentDeclared>(first.Event);
        Assert.Equal((incident.Id, incident.Number, Alice, Origin), (declared.IncidentId, declared.Number, declared.Actor, declared.Origin));
        Assert.Equal(("Checkout is failing", Severity.Sev1), (declared.Title, declared.Severity));
        Assert.Equal([Carol], declared.Responders);
        Assert.Equal(incident.DeclaredAt, declared.OccurredAt);
        Assert.Equal(TimeSpan.Zero, declared.OccurredAt.Offset);
        Assert.Equal((SlackHandler, 1), (first.Handler, first.Attempts));
        var assigned = Assert.IsType<RoleAssigned>(second.Event);
        Assert.Equal((incident.Id, IncidentRole.Commander, Bob, (Person?)null), (assigned.IncidentId, assigned.Role, assigned.Holder, assigned.Previous));
        Assert.True(first.MessageId < second.MessageId);
        Assert.Empty(await ClaimAsync(OnlySlack));
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
    public async Task ClaimAsync_NewMessage_FansOutOneDeliveryPerHandler()
    {
        var incident = await DeclareAsync();

        var claimed = await ClaimAsync(AllHandlers);

        var message = await QueryScalarAsync<long>("SELECT id FROM outbox WHERE incident_id = @Id", new { incident.Id });
        Assert.Equal(
            [(message, ReminderHandler), (message, SlackHandler), (message, TeamsHandler)],
            claimed.Select(d => (d.MessageId, d.Handler)).OrderBy(k => k.Handler, StringComparer.Ordinal));
        Assert.All(claimed, d => Assert.Equal((incident.Id, 1), (d.Event.IncidentId, d.Attempts)));
        Assert.Equal(3, await QueryScalarAsync<long>("SELECT count(*) FROM outbox_deliveries WHERE incident_id = @Id", new { incident.Id }));
        Assert.True(await QueryScalarAsync<bool>("SELECT delivered_at IS NOT NULL FROM outbox WHERE id = @Id", new { Id = message }));
    }

    [Fact]
    public async Task ClaimAsync_HandlerDoesNotReceiveType_NoLaneAndLaterEventsFlow()
    {
        var incident = await DeclareAsync();
        await AppendNoteAsync(incident.Number, "Only the reminders care about nothing here");
        await Incidents.PostUpdateAsync(incident.Number, "Rolled back", AsAlice, None);
        static bool NoNotesForSlack(string handler, Type type) => !(handler == SlackHandler && type == typeof(NoteAdded));

        var claimed = new List<OutboxDelivery>();
        for (var round = 0; round < 4; round++)
        {
            var batch = await ClaimAsync(Outbox, Room(SlackAndReminders), NoNotesForSlack);
            claimed.AddRange(batch);
            foreach (var delivery in batch)
            {
                await CompleteAsync(delivery);
            }
        }

        Assert.Equal(
            [typeof(IncidentDeclared), typeof(UpdatePosted)],
            claimed.Where(d => d.Handler == SlackHandler).Select(d => d.Event.GetType()));
        Assert.Equal(
            [typeof(IncidentDeclared), typeof(NoteAdded), typeof(UpdatePosted)],
            claimed.Where(d => d.Handler == ReminderHandler).Select(d => d.Event.GetType()));
        Assert.Equal(5, await QueryScalarAsync<long>("SELECT count(*) FROM outbox_deliveries WHERE incident_id = @Id", new { incident.Id }));
    }

    [Fact]
    public async Task ClaimAsync_NoHandlerReceivesType_FannedOutToNoLaneAndNeverClaimed()
    {
        var incident = await DeclareAsync();
        static bool NoNotes(string handler, Type type) => type != typeof(NoteAdded);
        foreach (var delivery in await ClaimAsync(Outbox, Room(AllHandlers), NoNotes))
        {
            await CompleteAsync(delivery);
        }

        await AppendNoteAsync(incident.Number, "Nobody delivers this");
        var claimed = await ClaimAsync(Outbox, Room(AllHandlers), NoNotes);

        Assert.Empty(claimed);
        var note = await QueryScalarAsync<long>("SELECT id FROM outbox WHERE event_type = 'note_added' AND incident_id = @Id", new { incident.Id });
        Assert.True(await QueryScalarAsync<bool>("SELECT delivered_at IS NOT NULL FROM outbox WHERE id = @Id", new { Id = note }));
        Assert.Equal(0L, await QueryScalarAsync<long>("SELECT count(*) FROM outbox_deliveries WHERE message_id = @Id", new { Id = note }));
    }

    [Fact]
    public async Task ClaimAsync_SecondEventOfLane_NotClaimableUntilFirstCompletes()
    {
        var first = await DeclareAsync("First");
        await AppendNoteAsync(first.Number, "Second event of the first incident");
        var second = await DeclareAsync("Second");

        var claimed = await ClaimAsync(OnlySlack);
        var whileLeased = await ClaimAsync(OnlySlack);
        await CompleteAsync(claimed.Single(m => m.Event.IncidentId == first.Id));
        var afterComplete = await ClaimAsync(OnlySlack);

        Assert.Equal([(first.Id, typeof(IncidentDeclared)), (second.Id, typeof(IncidentDeclared))], claimed.Select(m => (m.Event.IncidentId, m.Event.GetType())));
        Assert.Empty(whileLeased);
        var note = Assert.IsType<NoteAdded>(Assert.Single(afterComplete).Event);
        Assert.Equal((first.Id, "Second event of the first incident"), (note.IncidentId, note.Text));
    }

    [Fact]
    public async Task ClaimAsync_Capacity_LimitsEachHandlerToItsOldestDeliveries()
    {
        var incidents = new List<Incident>();
        for (var i = 0; i < 5; i++)
        {
            incidents.Add(await DeclareAsync($"Incident {i}"));
        }

        var first = await ClaimAsync(Outbox, new Dictionary<string, int> { [SlackHandler] = 1, [ReminderHandler] = 3 });
        var second = await ClaimAsync(Outbox, new Dictionary<string, int> { [SlackHandler] = 2, [ReminderHandler] = 0 });

        Assert.Equal(
            [(incidents[0].Id, ReminderHandler), (incidents[0].Id, SlackHandler), (incidents[1].Id, ReminderHandler), (incidents[2].Id, ReminderHandler)],
            first.Select(d => (d.Event.IncidentId, d.Handler)));
        Assert.Equal([(incidents[1].Id, SlackHandler), (incidents[2].Id, SlackHandler)], second.Select(d => (d.Event.IncidentId, d.Handler)));
        Assert.Empty(await ClaimAsync(SlackAndReminders, max: 0));
        Assert.Empty(await ClaimAsync([]));
    }

    [Fact]
    public async Task ClaimAsync_HandlerWithoutRoom_StillGetsItsLanesAndClaimsThemLater()
    {
        await DeclareAsync();

        var slackOnly = await ClaimAsync(Outbox, new Dictionary<string, int> { [SlackHandler] = 10, [TeamsHandler] = 0 });
        var teamsLater = await ClaimAsync([SlackHandler, TeamsHandler]);

        Assert.Equal([SlackHandler], slackOnly.Select(d => d.Handler));
        Assert.Equal([(slackOnly[0].MessageId, TeamsHandler, 1)], teamsLater.Select(d => (d.MessageId, d.Handler, d.Attempts)));
    }

    [Fact]
    public async Task ClaimAsync_LeaseExpired_OnlyThatDeliveryIsClaimableAgain()
    {
        await DeclareAsync();
        var claimed = await ClaimAsync(SlackAndReminders, lease: TimeSpan.FromSeconds(30));
        await CompleteAsync(claimed.Single(d => d.Handler == ReminderHandler));

        Clock.Advance(TimeSpan.FromSeconds(29));
        var beforeExpiry = await ClaimAsync(SlackAndReminders, lease: TimeSpan.FromSeconds(30));
        Clock.Advance(TimeSpan.FromSeconds(1));
        var afterExpiry = await ClaimAsync(SlackAndReminders, lease: TimeSpan.FromSeconds(30));

        Assert.Empty(beforeExpiry);
        var reclaimed = Assert.Single(afterExpiry);
        var slack = claimed.Single(d => d.Handler == SlackHandler);
        Assert.Equal((slack.MessageId, SlackHandler), (reclaimed.MessageId, reclaimed.Handler));
        Assert.Equal((1, 2), (slack.Attempts, reclaimed.Attempts));
    }

    [Fact]
    public async Task ClaimAsync_ConcurrentClaimersOnSeparateInstances_NeverGetTheSameDeliveryAndKeepLaneOrder()
    {
        const int IncidentCount = 20;
        for (var i = 0; i < IncidentCount; i++)
        {
            var incident = await Store.DeclareAsync(number => NewIncident(number, $"Incident {i}"), None);
            await AppendNoteAsync(incident.Number, "First note");
            await AppendNoteAsync(incident.Number, "Second note");
        }

        var instances = Enumerable.Range(0, 4).Select(_ => CreateServices(Database)).ToList();
        // In claim order: a lane's next delivery is claimable only after its previous one completed, which is
        // after that one was recorded here.
        var claims = new ConcurrentQueue<OutboxDelivery>();
        async Task DrainAsync(IOutbox outbox)
        {
            while (await ClaimAsync(outbox, Room(AllHandlers, 3)) is { Count: > 0 } batch)
            {
                foreach (var delivery in batch)
                {
                    claims.Enqueue(delivery);
                    await outbox.CompleteAsync(delivery.MessageId, delivery.Handler, None);
                }
            }
        }

        try
        {
            await Task.WhenAll(instances.Select(instance => Task.Run(() => DrainAsync(instance.GetRequiredService<IOutbox>()))));
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }

        // A claimer may stop early while another holds a lane's previous delivery; whatever is left is claimed here.
        await DrainAsync(Outbox);

        var all = claims.ToList();
        Assert.Equal(IncidentCount * 3 * AllHandlers.Length, all.Count);
        Assert.Equal(all.Count, all.Select(d => (d.MessageId, d.Handler)).Distinct().Count());
        Assert.All(all, d => Assert.Equal(1, d.Attempts));
        foreach (var lane in all.GroupBy(d => (d.Event.IncidentId, d.Handler)))
        {
            Assert.Equal(lane.Select(d => d.MessageId).Order(), lane.Select(d => d.MessageId));
            Assert.Equal([typeof(IncidentDeclared), typeof(NoteAdded), typeof(NoteAdded)], lane.Select(d => d.Event.GetType()));
        }
    }

    [Fact]
    public async Task RetryLaterAsync_Delivery_IsDueAgainOnlyAtNotBeforeAndBlocksOnlyItsOwnLane()
    {
        var incident = await DeclareAsync(commander: Bob);
        var other = await DeclareAsync("Other incident");
        var first = await ClaimAsync(SlackAndReminders);
        var slackDeclared = first.Single(d => d.Handler == SlackHandler && d.Event.IncidentId == incident.Id);
        var notBefore = Now + TimeSpan.FromMinutes(2);

        await Outbox.RetryLaterAsync(slackDeclared.MessageId, SlackHandler, notBefore, "slack: ratelimited", None);
        foreach (var delivery in first.Where(d => d != slackDeclared))
        {
            await CompleteAsync(delivery);
        }

        var othersGoOn = await ClaimAsync(SlackAndReminders);
        foreach (var delivery in othersGoOn)
        {
            await CompleteAsync(delivery);
        }

        var beforeNotBefore = await ClaimAsync(SlackAndReminders);
        Clock.Advance(TimeSpan.FromMinutes(2));
        var retried = Assert.Single(await ClaimAsync(SlackAndReminders));
        await CompleteAsync(retried);
        var slackCatchesUp = Assert.Single(await ClaimAsync(SlackAndReminders));

        Assert.Equal(
            [(incident.Id, ReminderHandler), (incident.Id, SlackHandler), (other.Id, ReminderHandler), (other.Id, SlackHandler)],
            first.Select(d => (d.Event.IncidentId, d.Handler)));
        // The reminders lane of the incident moves on; the Slack lane waits, and nothing already done runs again.
        var movedOn = Assert.Single(othersGoOn);
        Assert.Equal((incident.Id, ReminderHandler, typeof(RoleAssigned)), (movedOn.Event.IncidentId, movedOn.Handler, movedOn.Event.GetType()));
        Assert.Empty(beforeNotBefore);
        Assert.Equal((slackDeclared.MessageId, SlackHandler, 2), (retried.MessageId, retried.Handler, retried.Attempts));
        Assert.IsType<IncidentDeclared>(retried.Event);
        Assert.Equal("slack: ratelimited", await DeliveryColumnAsync<string>(slackDeclared, "error"));
        Assert.Equal((SlackHandler, typeof(RoleAssigned), 1), (slackCatchesUp.Handler, slackCatchesUp.Event.GetType(), slackCatchesUp.Attempts));
    }

    [Fact]
    public async Task ClaimAsync_LaneWaitingForRetry_LaterEventsOfOtherIncidentsFlow()
    {
        var stuck = await DeclareAsync("Stuck in Slack");
        var declared = Assert.Single(await ClaimAsync(OnlySlack));
        await Outbox.RetryLaterAsync(declared.MessageId, SlackHandler, Now + TimeSpan.FromHours(1), "slack: 503", None);
        await AppendNoteAsync(stuck.Number, "Waits behind the declare");
        var flowing = await DeclareAsync("Flowing");
        await AppendNoteAsync(flowing.Number, "Goes through");

        var firstOfFlowing = Assert.Single(await ClaimAsync(OnlySlack));
        await CompleteAsync(firstOfFlowing);
        var secondOfFlowing = Assert.Single(await ClaimAsync(OnlySlack));
        await CompleteAsync(secondOfFlowing);

        Assert.Equal((flowing.Id, typeof(IncidentDeclared)), (firstOfFlowing.Event.IncidentId, firstOfFlowing.Event.GetType()));
        Assert.Equal((flowing.Id, typeof(NoteAdded)), (secondOfFlowing.Event.IncidentId, secondOfFlowing.Event.GetType()));
        Assert.Empty(await ClaimAsync(OnlySlack));
    }

    [Fact]
    public async Task FailAsync_Delivery_IsNeverClaimedAgainAndUnblocksOnlyItsLane()
    {
        await DeclareAsync(commander: Bob);
        var claimed = await ClaimAsync(SlackAndReminders);
        var slack = claimed.Single(d => d.Handler == SlackHandler);
        var reminders = claimed.Single(d => d.Handler == ReminderHandler);

        await Outbox.FailAsync(slack.MessageId, SlackHandler, "slack: channel_not_found", None);
        Clock.Advance(Lease * 2);
        var next = await ClaimAsync(SlackAndReminders);

        // The reminders delivery of the same message ran out of its lease, so it is claimed again (at-least-once).
        Assert.Equal(
            [(ReminderHandler, typeof(IncidentDeclared)), (SlackHandler, typeof(RoleAssigned))],
            next.Select(d => (d.Handler, d.Event.GetType())));
        Assert.Equal(slack.MessageId, next[0].MessageId);
        Assert.Equal(2, next.Single(d => d.Handler == ReminderHandler).Attempts);
        Assert.Equal("slack: channel_not_found", await DeliveryColumnAsync<string>(slack, "error"));
        Assert.True(await DeliveryColumnAsync<bool>(slack, "failed_at IS NOT NULL"));
        Assert.False(await DeliveryColumnAsync<bool>(reminders, "failed_at IS NOT NULL"));
        Clock.Advance(Lease * 2);
        Assert.DoesNotContain((slack.MessageId, SlackHandler), (await ClaimAsync(SlackAndReminders)).Select(d => (d.MessageId, d.Handler)));
    }

    [Fact]
    public async Task ClaimAsync_UnreadablePayload_MarksItFailedAndMovesOn()
    {
        var incident = await DeclareAsync();
        foreach (var delivery in await ClaimAsync(SlackAndReminders))
        {
            await CompleteAsync(delivery);
        }

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

        await AppendNoteAsync(incident.Number, "After the unreadable one");

        Assert.Empty(await ClaimAsync(SlackAndReminders));
        Assert.Equal(
            2,
            await QueryScalarAsync<long>(
                """
                SELECT count(*) FROM outbox_deliveries d JOIN outbox o ON o.id = d.message_id
                WHERE o.event_type = 'from_the_future' AND d.failed_at IS NOT NULL AND d.error LIKE '%from_the_future%'
                """));
        var next = await ClaimAsync(SlackAndReminders);
        Assert.Equal([ReminderHandler, SlackHandler], next.Select(d => d.Handler));
        Assert.All(next, d => Assert.IsType<NoteAdded>(d.Event));
    }

    [Fact]
    public async Task CompleteAsync_Delivery_IsNeverClaimedAgainWhileTheOtherHandlersStillGetIt()
    {
        await DeclareAsync();
        var claimed = await ClaimAsync(SlackAndReminders);
        var slack = claimed.Single(d => d.Handler == SlackHandler);

        await CompleteAsync(slack);
        Clock.Advance(Lease * 2);
        var again = await ClaimAsync(SlackAndReminders);

        Assert.Equal((slack.MessageId, ReminderHandler), (Assert.Single(again).MessageId, again[0].Handler));
        Assert.True(await DeliveryColumnAsync<bool>(slack, "done_at IS NOT NULL"));
        await CompleteAsync(again[0]);
        Clock.Advance(Lease * 2);
        Assert.Empty(await ClaimAsync(SlackAndReminders));
    }

    [Fact]
    public async Task ClaimAsync_OtherInstancesHandlers_AreNotClaimed()
    {
        await DeclareAsync();
        var teamsInstanceClaims = await ClaimAsync([SlackHandler, TeamsHandler]);
        foreach (var delivery in teamsInstanceClaims)
        {
            await CompleteAsync(delivery);
        }

        await DeclareAsync("Second");
        await using var slackOnly = CreateServices(Database);
        var slackInstanceClaims = await ClaimAsync(slackOnly.GetRequiredService<IOutbox>(), Room(OnlySlack));

        Assert.Equal([SlackHandler, TeamsHandler], teamsInstanceClaims.Select(d => d.Handler));
        Assert.Equal([SlackHandler], slackInstanceClaims.Select(d => d.Handler));
        // The second message was fanned out by the Slack-only instance, so it has no Teams lane.
        Assert.Empty(await ClaimAsync([SlackHandler, TeamsHandler]));
    }

    [Fact]
    public async Task ClaimAsync_HandlerAddedAfterMessagesWereFannedOut_GetsOnlyTheMessagesFannedOutSince()
    {
        var before = await DeclareAsync("Before Teams was configured");
        foreach (var delivery in await ClaimAsync(OnlySlack))
        {
            await CompleteAsync(delivery);
        }

        await AppendNoteAsync(before.Number, "After Teams was configured");
        var withTeams = await ClaimAsync([SlackHandler, TeamsHandler]);

        Assert.Equal(
            [(SlackHandler, typeof(NoteAdded)), (TeamsHandler, typeof(NoteAdded))],
            withTeams.Select(d => (d.Handler, d.Event.GetType())));
    }

    [Fact]
    public async Task ClaimAsync_MessagesStoredBeforeLanesExisted_AreStillDeliveredInOrder()
    {
        var database = CreateDatabase(migrate: false);
        await database.InitializeAsync();
        try
        {
            await using var services = CreateServices(database);
            await MigrateToAsync(services, version: 4);
            var store = services.GetRequiredService<IIncidentStore>();

            // What a build from before per-handler lanes leaves behind. This build's store writes is_private (storage
            // 0013): the column is there only while the old build's rows are written.
            await ExecuteAsync(services, postgres: "ALTER TABLE incidents ADD COLUMN is_private boolean NOT NULL DEFAULT FALSE", sqlite: "ALTER TABLE incidents ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0");
            var delivered = await store.DeclareAsync(n => NewIncident(n, "Delivered before the upgrade"), None);
            var backingOff = await store.DeclareAsync(n => NewIncident(n, "Backing off"), None);
            var leased = await store.DeclareAsync(n => NewIncident(n, "Being delivered by an old instance"), None);
            var failed = await store.DeclareAsync(n => NewIncident(n, "Given up on"), None);
            foreach (var incident in new[] { delivered, backingOff, leased, failed })
            {
                await store.SaveAsync(NoteChange(incident, "Pending when the upgrade came"), None);
            }

            await using (var connection = await services.GetRequiredService<IDbConnectionFactory>().OpenConnectionAsync(None))
            {
                const string FirstOf = "id = (SELECT min(id) FROM outbox WHERE incident_id = @Id)";
                await Dapper.SqlMapper.ExecuteAsync(connection, $"UPDATE outbox SET delivered_at = @Now, attempts = 1 WHERE {FirstOf}", new { delivered.Id, Now });
                await Dapper.SqlMapper.ExecuteAsync(
                    connection, $"UPDATE outbox SET attempts = 3, available_at = @At, last_error = 'slack: 503' WHERE {FirstOf}", new { backingOff.Id, At = Now + TimeSpan.FromMinutes(1) });
                await Dapper.SqlMapper.ExecuteAsync(
                    connection, $"UPDATE outbox SET attempts = 1, locked_until = @At WHERE {FirstOf}", new { leased.Id, At = Now + TimeSpan.FromSeconds(30) });
                await Dapper.SqlMapper.ExecuteAsync(connection, $"UPDATE outbox SET failed_at = @Now, attempts = 12 WHERE {FirstOf}", new { failed.Id, Now });
            }

            await ExecuteAsync(services, postgres: "ALTER TABLE incidents DROP COLUMN is_private", sqlite: "ALTER TABLE incidents DROP COLUMN is_private");

            // 0005 and whatever came after it.
            var migrator = services.GetRequiredService<DatabaseMigrator>();
            Assert.Equal(StillToRun(migrator, 4), await migrator.MigrateAsync(None));
            var outbox = services.GetRequiredService<IOutbox>();
            async Task<List<(long IncidentId, string Handler, Type Event, int Attempts)>> ClaimAndCompleteAsync()
            {
                var batch = await ClaimAsync(outbox, Room(SlackAndReminders, 20));
                foreach (var delivery in batch)
                {
                    await outbox.CompleteAsync(delivery.MessageId, delivery.Handler, None);
                }

                return batch.Select(d => (d.Event.IncidentId, d.Handler, d.Event.GetType(), d.Attempts)).ToList();
            }

            var atOnce = await ClaimAndCompleteAsync();
            var thenNotes = await ClaimAndCompleteAsync();
            Clock.Advance(TimeSpan.FromSeconds(30));
            var afterOldLease = await ClaimAndCompleteAsync();
            var thenLeasedNote = await ClaimAndCompleteAsync();
            Clock.Advance(TimeSpan.FromSeconds(30));
            var afterBackoff = await ClaimAndCompleteAsync();
            var thenBackedOffNote = await ClaimAndCompleteAsync();

            Assert.Equal(
                [(delivered.Id, ReminderHandler, typeof(NoteAdded), 1), (delivered.Id, SlackHandler, typeof(NoteAdded), 1),
                 (failed.Id, ReminderHandler, typeof(NoteAdded), 1), (failed.Id, SlackHandler, typeof(NoteAdded), 1)],
                atOnce.Concat(thenNotes).OrderBy(d => d.IncidentId).ThenBy(d => d.Handler, StringComparer.Ordinal));
            Assert.Equal(
                [(leased.Id, ReminderHandler, typeof(IncidentDeclared), 1), (leased.Id, SlackHandler, typeof(IncidentDeclared), 1)], afterOldLease);
            Assert.Equal([(leased.Id, ReminderHandler, typeof(NoteAdded), 1), (leased.Id, SlackHandler, typeof(NoteAdded), 1)], thenLeasedNote);
            Assert.Equal(
                [(backingOff.Id, ReminderHandler, typeof(IncidentDeclared), 1), (backingOff.Id, SlackHandler, typeof(IncidentDeclared), 1)], afterBackoff);
            Assert.Equal([(backingOff.Id, ReminderHandler, typeof(NoteAdded), 1), (backingOff.Id, SlackHandler, typeof(NoteAdded), 1)], thenBackedOffNote);
            Assert.Empty(await ClaimAndCompleteAsync());
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    /// <summary>The check-in interval both instances of these tests run with (the default).</summary>
    private static TimeSpan Checkin => new OutboxOptions().CheckinInterval;

    [Fact]
    public async Task ClaimAsync_Claim_RecordsTheClaimingInstance()
    {
        await DeclareAsync();

        var claimed = Assert.Single(await ClaimAsync(OnlySlack));

        Assert.Equal(Outbox.Instance, await DeliveryColumnAsync<string>(claimed, "claimed_by"));
    }

    [Fact]
    public async Task ClaimAsync_ClaimerStopsCheckingIn_ItsClaimsAreTakenAfterTwiceTheIntervalNotAtLeaseEnd()
    {
        await DeclareAsync();
        await using var other = CreateServices(Database);
        var survivor = other.GetRequiredService<IOutbox>();
        await survivor.CheckInAsync(starting: false, None);
        var held = Assert.Single(await ClaimAsync(OnlySlack));
        var leaseUntil = await DeliveryColumnAsync<DateTimeOffset>(held, "lease_until");

        // The claimer goes silent (killed); the other instance keeps checking in.
        Clock.Advance(2 * Checkin - TimeSpan.FromMilliseconds(1));
        var whileFresh = await ClaimAsync(survivor, Room(OnlySlack));
        var goneWhileFresh = await survivor.CheckInAsync(starting: false, None);
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var taken = await ClaimAsync(survivor, Room(OnlySlack));

        Assert.Empty(whileFresh);
        Assert.Empty(goneWhileFresh);
        var retaken = Assert.Single(taken);
        Assert.Equal((held.MessageId, SlackHandler, 2), (retaken.MessageId, retaken.Handler, retaken.Attempts));
        Assert.True(Now < leaseUntil, "taken over before the lease ran out");
        Assert.Equal(survivor.Instance, await DeliveryColumnAsync<string>(retaken, "claimed_by"));
    }

    [Fact]
    public async Task CheckInAsync_InstanceSilentForTwiceTheInterval_IsForgottenAndNamed()
    {
        await Outbox.CheckInAsync(starting: false, None);
        await using var other = CreateServices(Database);
        var survivor = other.GetRequiredService<IOutbox>();

        Clock.Advance(2 * Checkin);
        var gone = await survivor.CheckInAsync(starting: false, None);

        Assert.Equal([Outbox.Instance], gone);
        Assert.Equal([survivor.Instance], await QueryAsync<string>("SELECT instance_id FROM outbox_instances"));
    }

    [Fact]
    public async Task CheckInAsync_Starting_OnSqliteTakesBackEveryClaimAtOnceOnPostgresOnlyStaleOnes()
    {
        await DeclareAsync();
        var held = Assert.Single(await ClaimAsync(OnlySlack));
        await using var restarted = CreateServices(Database);
        var outbox = restarted.GetRequiredService<IOutbox>();

        var gone = await outbox.CheckInAsync(starting: true, None);
        var claimed = await outbox.ClaimAsync(Room(OnlySlack), Lease, None);

        if (Database.Provider == DatabaseProvider.Sqlite)
        {
            // One instance per SQLite file: whatever another one held, it held when it died.
            Assert.Equal([Outbox.Instance], gone);
            Assert.Equal((held.MessageId, 2), (Assert.Single(claimed).MessageId, claimed[0].Attempts));
        }
        else
        {
            // Another instance may be alive and working; its claims wait for its check-in to go stale.
            Assert.Empty(gone);
            Assert.Empty(claimed);
        }
    }

    [Fact]
    public async Task CheckOutAsync_ClaimsLeftUnfinished_AreClaimableAtOnce()
    {
        await DeclareAsync();
        var held = Assert.Single(await ClaimAsync(OnlySlack));
        await using var other = CreateServices(Database);
        var survivor = other.GetRequiredService<IOutbox>();
        Assert.Empty(await ClaimAsync(survivor, Room(OnlySlack)));

        await Outbox.CheckOutAsync(None);
        var taken = await ClaimAsync(survivor, Room(OnlySlack));

        Assert.Equal((held.MessageId, 2), (Assert.Single(taken).MessageId, taken[0].Attempts));
    }

    [Fact]
    public async Task ClaimAsync_ClaimFromBeforeInstancesExisted_IsLeftToItsLease()
    {
        await DeclareAsync();
        var held = Assert.Single(await ClaimAsync(OnlySlack));
        await ExecuteAsync("UPDATE outbox_deliveries SET claimed_by = NULL");

        Clock.Advance(Lease - TimeSpan.FromSeconds(1));
        var beforeLeaseEnd = await ClaimAsync(OnlySlack);
        Clock.Advance(TimeSpan.FromSeconds(1));
        var afterLeaseEnd = await ClaimAsync(OnlySlack);

        Assert.Empty(beforeLeaseEnd);
        Assert.Equal(held.MessageId, Assert.Single(afterLeaseEnd).MessageId);
    }

    private static IncidentChange NoteChange(Incident incident, string text)
    {
        var at = incident.DeclaredAt;
        return new IncidentChange(
            incident,
            [new NewTimelineEntry(at, TimelineKind.Note, Alice, text)],
            [new NoteAdded(text) { IncidentId = incident.Id, Number = incident.Number, OccurredAt = at, Actor = Alice }]) { AppendOnly = true };
    }
}
