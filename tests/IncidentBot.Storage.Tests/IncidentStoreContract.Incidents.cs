using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task DeclareAsync_ThreeIncidents_NumbersAreOneTwoThree()
    {
        var numbers = new List<int>();
        for (var i = 1; i <= 3; i++)
        {
            numbers.Add((await DeclareAsync($"Incident {i}")).Number.Value);
        }

        Assert.Equal([1, 2, 3], numbers);
    }

    [Fact]
    public async Task DeclareAsync_TwentyConcurrentDeclaresOnSeparateInstances_AllSucceedWithDistinctNumbers()
    {
        var instances = Enumerable.Range(0, 4).Select(_ => CreateServices(Database)).ToList();
        try
        {
            var declares = Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            {
                var store = instances[i % instances.Count].GetRequiredService<IIncidentStore>();
                return store.DeclareAsync(number => NewIncident(number, $"Parallel {i}"), None);
            }));

            var incidents = await Task.WhenAll(declares);

            Assert.Equal(Enumerable.Range(1, 20), incidents.Select(i => i.Number.Value).Order());
            Assert.Equal(20, incidents.Select(i => i.Id).Distinct().Count());
            Assert.Equal(20, (await Store.ListAsync(new IncidentQuery(), None)).Count);
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ThirtyConcurrentNotes_DuringLifecycleChangesOnSeparateInstances_AllApply()
    {
        var incident = await DeclareAsync();
        var instances = Enumerable.Range(0, 4).Select(_ => CreateServices(Database)).ToList();
        try
        {
            IncidentService On(int i) => new(
                instances[i % instances.Count].GetRequiredService<IIncidentStore>(), Clock, Options.Create(new UpdateCadence()), Signal, NullLogger<IncidentService>.Instance);
            var notes = Enumerable.Range(0, 30).Select(i => Task.Run(() => On(i).AddNoteAsync(incident.Number, $"note {i}", AsAlice, None)));
            var lifecycle = new Func<Task>[]
            {
                () => On(0).AcknowledgeAsync(incident.Number, AsAlice, None),
                () => On(1).PostUpdateAsync(incident.Number, "Rolling back", AsAlice, None),
                () => On(2).ChangeSeverityAsync(incident.Number, Severity.Sev1, AsAlice, None),
                () => On(3).AssignRoleAsync(incident.Number, IncidentRole.Commander, Bob, AsAlice, None),
            }.Select(Task.Run);

            await Task.WhenAll(notes.Cast<Task>().Concat(lifecycle));

            var current = await Store.GetAsync(incident.Number, None);
            Assert.NotNull(current);
            Assert.Equal(Severity.Sev1, current.Severity);
            Assert.NotNull(current.AcknowledgedAt);
            Assert.NotNull(current.LastUpdateAt);
            Assert.True(Bob.IsSameAs(current.RoleHolder(IncidentRole.Commander)));
            Assert.Equal(30, (await Store.GetTimelineAsync(incident.Id, None)).Count(e => e.Kind == TimelineKind.Note));
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task DeclareAsync_WithCommanderAndWarRoom_ReturnsTheStoredIncident()
    {
        var request = new DeclareRequest("Checkout is failing", Severity.Sev1, "500s on /pay") { Commander = Bob, WarRoom = Room1 };

        var declared = (await Incidents.DeclareAsync(request, AsAlice, None)).Incident;

        Assert.True(declared.Id > 0);
        Assert.Equal(1, declared.Version);
        Assert.Equal(new IncidentNumber(1), declared.Number);
        Assert.Equal("Checkout is failing", declared.Title);
        Assert.Equal("500s on /pay", declared.Description);
        Assert.Equal(Severity.Sev1, declared.Severity);
        Assert.Equal(IncidentStatus.Investigating, declared.Status);
        Assert.Equal(Alice, declared.DeclaredBy);
        AssertStoredTime(Start, declared.DeclaredAt);
        AssertStoredTime(Start + TimeSpan.FromMinutes(15), declared.NextUpdateDueAt);
        Assert.Null(declared.AcknowledgedAt);
        Assert.Equal(Bob, Assert.Single(declared.Roles, r => r.Key == IncidentRole.Commander).Value);
        Assert.Equal([Room1], declared.WarRooms);

        var loaded = await Store.GetAsync(declared.Number, None);
        AssertSameIncident(declared, loaded);
    }

    [Fact]
    public async Task DeclareAsync_WarRoomAlreadyTaken_ThrowsWarRoomTakenAndStoresNothing()
    {
        var first = await DeclareAsync("First", warRoom: Room1);

        await Assert.ThrowsAsync<WarRoomTakenException>(() => Store.DeclareAsync(
            number => NewIncident(number, "Second") with { LinkWarRoom = Room1 }, None));

        Assert.Equal([first.Number], (await Store.ListAsync(new IncidentQuery(), None)).Select(i => i.Number));
        Assert.Equal(new IncidentNumber(2), (await DeclareAsync("Third")).Number);
    }

    [Fact]
    public async Task GetAsync_UnknownNumber_ReturnsNull()
    {
        await DeclareAsync();

        Assert.Null(await Store.GetAsync(new IncidentNumber(99), None));
    }

    [Fact]
    public async Task SaveAsync_StaleVersion_ThrowsConcurrencyConflictAndWritesNothing()
    {
        var stale = await DeclareAsync();
        await Incidents.AcknowledgeAsync(stale.Number, AsAlice, None);
        var change = new IncidentChange(
            stale with { Severity = Severity.Sev1 },
            [new NewTimelineEntry(Now, TimelineKind.Severity, Alice, "Severity changed")],
            [new SeverityChanged(Severity.Sev2, Severity.Sev1) { IncidentId = stale.Id, Number = stale.Number, OccurredAt = Now }])
        {
            RoleAssignment = new RoleAssignment(IncidentRole.Scribe, Carol, Alice, Now, null),
            LinkWarRoom = Room2,
        };

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => Store.SaveAsync(change, None));

        var current = await Store.GetAsync(stale.Number, None);
        Assert.NotNull(current);
        Assert.Equal(2, current.Version);
        Assert.Equal(Severity.Sev2, current.Severity);
        Assert.Empty(current.Roles);
        Assert.Empty(current.WarRooms);
        Assert.DoesNotContain(await Store.GetTimelineAsync(stale.Id, None), e => e.Kind == TimelineKind.Severity);
        Assert.Empty(await Store.GetRoleHistoryAsync(stale.Id, None));
    }

    [Fact]
    public async Task SaveAsync_AppendOnlyOnStaleVersion_WritesEntriesAndKeepsVersion()
    {
        var stale = await DeclareAsync();
        await Incidents.AcknowledgeAsync(stale.Number, AsAlice, None);
        var change = new IncidentChange(
            stale,
            [new NewTimelineEntry(Now, TimelineKind.Note, Alice, "Written while someone acknowledged")],
            [new NoteAdded("Written while someone acknowledged") { IncidentId = stale.Id, Number = stale.Number, OccurredAt = Now }])
        {
            ActionItem = new NewActionItem("Add a runbook", Carol, Alice, Now),
            AppendOnly = true,
        };

        var saved = await Store.SaveAsync(change, None);

        Assert.Equal(2, saved.Version);
        Assert.NotNull(saved.AcknowledgedAt);
        Assert.Contains(await Store.GetTimelineAsync(stale.Id, None), e => e.Text == "Written while someone acknowledged");
        Assert.Equal("Add a runbook", Assert.Single(await Store.GetActionItemsAsync(stale.Id, None)).Text);
    }

    [Fact]
    public async Task SaveAsync_AppendOnlyWhileTheIncidentRowIsLocked_NeitherWaitsNorBumpsTheVersion()
    {
        var incident = await DeclareAsync();
        await using var holder = await OpenAsync();
        // A lifecycle change in flight: its update holds the incident row. SQLite has one writer at a time and no row
        // locks, so there a reader stands in for it.
        var postgres = Database.Provider == DatabaseProvider.Postgres;
        await using var lifecycleChange = postgres
            ? await holder.BeginTransactionAsync()
            : ((Microsoft.Data.Sqlite.SqliteConnection)holder).BeginTransaction(deferred: true);
        await Dapper.SqlMapper.ExecuteAsync(
            holder,
            postgres ? "UPDATE incidents SET version = version + 1 WHERE id = @Id" : "SELECT id FROM incidents WHERE id = @Id",
            new { incident.Id },
            lifecycleChange);
        var change = new IncidentChange(
            incident,
            [new NewTimelineEntry(Now, TimelineKind.Note, Alice, "Noted during a lifecycle change")],
            [new NoteAdded("Noted during a lifecycle change") { IncidentId = incident.Id, Number = incident.Number, OccurredAt = Now }])
        {
            AppendOnly = true,
        };

        var saved = await Store.SaveAsync(change, None).WaitAsync(TimeSpan.FromSeconds(10));
        await lifecycleChange.RollbackAsync();

        Assert.Equal(incident.Version, saved.Version);
        Assert.Contains(await Store.GetTimelineAsync(incident.Id, None), e => e.Text == "Noted during a lifecycle change");
    }

    [Fact]
    public async Task SaveAsync_LifecycleChanges_PersistEveryFieldAndBumpVersion()
    {
        var incident = await DeclareAsync(severity: Severity.Sev2);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var acknowledgedAt = Now;
        await Incidents.AcknowledgeAsync(incident.Number, AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var updatedAt = Now;
        await Incidents.PostUpdateAsync(incident.Number, "Rolled back the deploy", AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var mitigatedAt = Now;
        await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Monitoring, AsAlice, None);
        await Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev3, AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var resolvedAt = Now;
        var resolved = (await Incidents.ResolveAsync(incident.Number, "Bad config push", AsAlice, None)).Incident;

        var loaded = await Store.GetAsync(incident.Number, None);

        Assert.NotNull(loaded);
        AssertSameIncident(resolved, loaded);
        Assert.Equal(6, loaded.Version);
        Assert.Equal(IncidentStatus.Resolved, loaded.Status);
        Assert.Equal(Severity.Sev3, loaded.Severity);
        Assert.Equal("Bad config push", loaded.Summary);
        AssertStoredTime(acknowledgedAt, loaded.AcknowledgedAt);
        AssertStoredTime(updatedAt, loaded.LastUpdateAt);
        AssertStoredTime(mitigatedAt, loaded.MitigatedAt);
        AssertStoredTime(resolvedAt, loaded.ResolvedAt);
        Assert.Null(loaded.NextUpdateDueAt);
    }

    [Fact]
    public async Task SaveAsync_ReopenClearsTimes_StoresNulls()
    {
        var incident = await DeclareAsync(severity: Severity.Sev1);
        await Incidents.ResolveAsync(incident.Number, null, AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(3));

        await Incidents.ReopenAsync(incident.Number, AsAlice, None);

        var loaded = await Store.GetAsync(incident.Number, None);
        Assert.NotNull(loaded);
        Assert.Equal(IncidentStatus.Investigating, loaded.Status);
        Assert.Null(loaded.ResolvedAt);
        AssertStoredTime(Now + TimeSpan.FromMinutes(15), loaded.NextUpdateDueAt);
    }

    [Fact]
    public async Task SaveAsync_RoleHandoff_EndsPreviousHolderAndKeepsBothInHistory()
    {
        var incident = await DeclareAsync(commander: Bob);
        var handedOffAt = Start + TimeSpan.FromMinutes(5);
        Clock.Advance(TimeSpan.FromMinutes(5));

        var saved = (await Incidents.AssignRoleAsync(incident.Number, IncidentRole.Commander, Carol, AsAlice, None)).Incident;
        await Incidents.AssignRoleAsync(incident.Number, IncidentRole.Scribe, Alice, AsAlice, None);

        Assert.Equal(Carol, saved.Roles[IncidentRole.Commander]);
        var loaded = await Store.GetAsync(incident.Number, None);
        Assert.NotNull(loaded);
        Assert.Equal(2, loaded.Roles.Count);
        Assert.Equal(Carol, loaded.Roles[IncidentRole.Commander]);
        Assert.Equal(Alice, loaded.Roles[IncidentRole.Scribe]);

        var history = await Store.GetRoleHistoryAsync(incident.Id, None);
        Assert.Collection(
            history,
            bob =>
            {
                Assert.Equal((IncidentRole.Commander, Bob, Alice), (bob.Role, bob.Holder, bob.AssignedBy));
                AssertStoredTime(Start, bob.AssignedAt);
                AssertStoredTime(handedOffAt, bob.EndedAt);
            },
            carol =>
            {
                Assert.Equal((IncidentRole.Commander, Carol, Alice), (carol.Role, carol.Holder, carol.AssignedBy));
                AssertStoredTime(handedOffAt, carol.AssignedAt);
                Assert.Null(carol.EndedAt);
            },
            scribe => Assert.Equal((IncidentRole.Scribe, Alice, (DateTimeOffset?)null), (scribe.Role, scribe.Holder, scribe.EndedAt)));
    }

    [Fact]
    public async Task SaveAsync_ActionItems_AreListedInCreationOrder()
    {
        var incident = await DeclareAsync();
        await Incidents.AddActionItemAsync(incident.Number, "Add a canary stage", Bob, AsAlice, None);
        Clock.Advance(TimeSpan.FromSeconds(1));
        await Incidents.AddActionItemAsync(incident.Number, "Alert on 5xx rate", null, AsAlice, None);

        var items = await Store.GetActionItemsAsync(incident.Id, None);

        Assert.Collection(
            items,
            first =>
            {
                Assert.Equal(("Add a canary stage", Bob, Alice, incident.Id), (first.Text, first.Owner, first.CreatedBy, first.IncidentId));
                AssertStoredTime(Start, first.CreatedAt);
                Assert.Null(first.DoneAt);
            },
            second =>
            {
                Assert.Equal(("Alert on 5xx rate", (Person?)null), (second.Text, second.Owner));
                AssertStoredTime(Start + TimeSpan.FromSeconds(1), second.CreatedAt);
            });
        Assert.True(items[0].Id < items[1].Id);
    }

    [Fact]
    public async Task SaveAsync_WarRoomOfAnotherIncident_ThrowsWarRoomTakenAndRollsBack()
    {
        await DeclareAsync("First", warRoom: Room1);
        var second = await DeclareAsync("Second");
        var change = new IncidentChange(second with { WarRooms = [Room1] }, [new NewTimelineEntry(Now, TimelineKind.System, Alice, "Linked")], [])
        {
            LinkWarRoom = Room1,
        };

        await Assert.ThrowsAsync<WarRoomTakenException>(() => Store.SaveAsync(change, None));

        var loaded = await Store.GetAsync(second.Number, None);
        Assert.NotNull(loaded);
        Assert.Equal(1, loaded.Version);
        Assert.Empty(loaded.WarRooms);
        Assert.DoesNotContain(await Store.GetTimelineAsync(second.Id, None), e => e.Text == "Linked");
    }

    [Fact]
    public async Task FindByWarRoomAsync_LinkedRooms_ReturnTheirIncident()
    {
        var first = await DeclareAsync("First", warRoom: Room1);
        var second = await DeclareAsync("Second");
        await Incidents.LinkWarRoomAsync(second.Number, Room2, AsAlice, None);
        await Incidents.LinkWarRoomAsync(second.Number, new ChatSpace("slack", "C0SECOND"), AsAlice, None);

        var byRoom1 = await Store.FindByWarRoomAsync(Room1, None);
        var byRoom2 = await Store.FindByWarRoomAsync(Room2, None);

        Assert.Equal(first.Id, byRoom1?.Id);
        Assert.Equal(second.Id, byRoom2?.Id);
        Assert.Equal([Room2, new ChatSpace("slack", "C0SECOND")], byRoom2?.WarRooms);
        Assert.Null(await Store.FindByWarRoomAsync(new ChatSpace("slack", "C0NOWHERE"), None));
        Assert.Null(await Store.FindByWarRoomAsync(new ChatSpace("teams", Room1.Channel), None));
    }

    [Fact]
    public async Task ListAsync_SeveralIncidents_NewestFirstWithOpenOnlyAndLimit()
    {
        var oldest = await DeclareAsync("Oldest", commander: Bob);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var resolved = await DeclareAsync("Resolved");
        await Incidents.ResolveAsync(resolved.Number, "Fixed", AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        var newest = await DeclareAsync("Newest", warRoom: Room1);

        var all = await Store.ListAsync(new IncidentQuery(), None);
        var open = await Store.ListAsync(new IncidentQuery(OpenOnly: true), None);
        var limited = await Store.ListAsync(new IncidentQuery(Limit: 2), None);
        var openLimited = await Store.ListAsync(new IncidentQuery(OpenOnly: true, Limit: 1), None);

        Assert.Equal(["Newest", "Resolved", "Oldest"], all.Select(i => i.Title));
        Assert.Equal(["Newest", "Oldest"], open.Select(i => i.Title));
        Assert.Equal(["Newest", "Resolved"], limited.Select(i => i.Title));
        Assert.Equal(["Newest"], openLimited.Select(i => i.Title));
        Assert.Equal(Bob, all.Single(i => i.Id == oldest.Id).Roles[IncidentRole.Commander]);
        Assert.Equal([Room1], all.Single(i => i.Id == newest.Id).WarRooms);
        Assert.Empty(all.Single(i => i.Id == resolved.Id).WarRooms);
    }

    [Fact]
    public async Task ListAsync_Filters_CombineSeverityStatusDatesAndTitle()
    {
        var dayOne = Now;
        await DeclareAsync("Checkout 5xx", Severity.Sev1);
        Clock.Advance(TimeSpan.FromDays(1));
        var dayTwo = Now;
        var search = await DeclareAsync("Search slow_100%", Severity.Sev3);
        await Incidents.ResolveAsync(search.Number, null, AsAlice, None);
        Clock.Advance(TimeSpan.FromDays(1));
        await DeclareAsync("CHECKOUT retries", Severity.Sev2);

        async Task<string[]> Titles(IncidentQuery q) => (await Store.ListAsync(q, None)).Select(i => i.Title).ToArray();

        Assert.Equal(["CHECKOUT retries", "Checkout 5xx"], await Titles(new IncidentQuery { TitleContains = "checkout" }));
        Assert.Equal(["Search slow_100%"], await Titles(new IncidentQuery { TitleContains = "slow_100%" }));
        Assert.Empty(await Titles(new IncidentQuery { TitleContains = "slowX100" }));
        Assert.Equal(["Search slow_100%"], await Titles(new IncidentQuery { ResolvedOnly = true }));
        Assert.Equal(["Checkout 5xx"], await Titles(new IncidentQuery { Severity = Severity.Sev1 }));
        Assert.Equal(["Search slow_100%"], await Titles(new IncidentQuery { DeclaredFrom = dayTwo, DeclaredBefore = dayTwo.AddDays(1) }));
        Assert.Equal(["Checkout 5xx"], await Titles(new IncidentQuery { DeclaredBefore = dayOne.AddHours(1) }));
        Assert.Equal(["CHECKOUT retries"], await Titles(new IncidentQuery(OpenOnly: true) { TitleContains = "check", DeclaredFrom = dayTwo }));
    }

    [Fact]
    public async Task ListAsync_SameDeclaredTime_HigherNumberFirst()
    {
        await DeclareAsync("One");
        await DeclareAsync("Two");
        await DeclareAsync("Three");

        var all = await Store.ListAsync(new IncidentQuery(), None);

        Assert.Equal([3, 2, 1], all.Select(i => i.Number.Value));
    }

    [Fact]
    public async Task DeclareAsync_TimesWithOffsetAndTicks_ComeBackUtcTruncatedToMicroseconds()
    {
        var declaredAt = new DateTimeOffset(2025, 7, 1, 23, 59, 59, TimeSpan.FromHours(2)).AddTicks(9_999_999);
        var acknowledgedAt = new DateTimeOffset(2025, 7, 2, 0, 0, 1, TimeSpan.FromHours(-5)).AddTicks(1_234_567);
        var declared = await Store.DeclareAsync(
            number =>
            {
                var change = NewIncident(number, "Clock skew", declaredAt);
                return change with
                {
                    Incident = change.Incident with { AcknowledgedAt = acknowledgedAt },
                    RoleAssignment = new RoleAssignment(IncidentRole.Lead, Bob, null, acknowledgedAt, null),
                };
            },
            None);

        AssertStoredTime(declaredAt, declared.DeclaredAt);
        AssertStoredTime(acknowledgedAt, declared.AcknowledgedAt);
        Assert.Equal(new DateTimeOffset(2025, 7, 1, 21, 59, 59, TimeSpan.Zero).AddTicks(9_999_990), declared.DeclaredAt);
        var entry = Assert.Single(await Store.GetTimelineAsync(declared.Id, None));
        AssertStoredTime(declaredAt, entry.OccurredAt);
        AssertStoredTime(acknowledgedAt, Assert.Single(await Store.GetRoleHistoryAsync(declared.Id, None)).AssignedAt);

        // Written, read back and written again: a stored time round-trips exactly.
        var again = await Store.SaveAsync(new IncidentChange(declared, [], []), None);
        Assert.Equal(declared.DeclaredAt.UtcTicks, again.DeclaredAt.UtcTicks);
        Assert.Equal(declared.AcknowledgedAt, again.AcknowledgedAt);
    }

    private static void AssertSameIncident(Incident expected, Incident? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(
            (expected.Id, expected.Number, expected.Title, expected.Description, expected.Severity, expected.Status, expected.DeclaredBy, expected.Version, expected.Summary),
            (actual.Id, actual.Number, actual.Title, actual.Description, actual.Severity, actual.Status, actual.DeclaredBy, actual.Version, actual.Summary));
        Assert.Equal(
            new[] { expected.DeclaredAt, expected.AcknowledgedAt, expected.MitigatedAt, expected.ResolvedAt, expected.LastUpdateAt, expected.NextUpdateDueAt }
                .Select(t => t?.UtcTicks),
            new[] { actual.DeclaredAt, actual.AcknowledgedAt, actual.MitigatedAt, actual.ResolvedAt, actual.LastUpdateAt, actual.NextUpdateDueAt }
                .Select(t => t?.UtcTicks));
        Assert.Equal(expected.Roles.OrderBy(r => r.Key), actual.Roles.OrderBy(r => r.Key));
        Assert.Equal(expected.WarRooms, actual.WarRooms);
    }
}
