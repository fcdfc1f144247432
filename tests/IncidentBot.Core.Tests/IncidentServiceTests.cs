using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Tests;

public sealed class IncidentServiceTests : EngineTests
{
    [Fact]
    public async Task Declare_Sev1_IsInvestigatingWithUpdateDueIn15Minutes()
    {
        var incident = await DeclareAsync(Severity.Sev1);

        Assert.Equal(IncidentStatus.Investigating, incident.Status);
        Assert.Equal(Clock.GetUtcNow(), incident.DeclaredAt);
        Assert.Equal(Clock.GetUtcNow().AddMinutes(15), incident.NextUpdateDueAt);
        var entry = Assert.Single(await TimelineAsync(incident));
        Assert.Equal(TimelineKind.System, entry.Kind);
        Assert.Contains("declared INC-1 (SEV1): Checkout is down", entry.Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Declare_WithoutTitle_TellsTheUser(string title)
    {
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.DeclareAsync(new DeclareRequest(title, Severity.Sev2), AsAnn, default));
        Assert.Equal("Please give a title.", error.Message);
    }

    [Fact]
    public async Task Declare_TitleTooLong_TellsTheLimit()
    {
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() =>
            Incidents.DeclareAsync(new DeclareRequest(new string('x', IncidentService.MaxTitleLength + 1), Severity.Sev2), AsAnn, default));
        Assert.Contains($"the limit is {IncidentService.MaxTitleLength}", error.Message);
    }

    [Fact]
    public async Task Declare_WithCommanderAndWarRoom_RecordsBoth()
    {
        var room = new ChatSpace("chat", "C-WAR");
        var result = await Incidents.DeclareAsync(new DeclareRequest("DNS", Severity.Sev2) { Commander = Bo, WarRoom = room }, AsAnn, default);

        Assert.True(Bo.IsSameAs(result.Incident.RoleHolder(IncidentRole.Commander)));
        Assert.Equal([room], result.Incident.WarRooms);
        var again = await Assert.ThrowsAsync<IncidentRuleException>(() =>
            Incidents.DeclareAsync(new DeclareRequest("Other", Severity.Sev2) { WarRoom = room }, AsAnn, default));
        Assert.Equal("This conversation is already the war room of INC-1.", again.Message);
    }

    [Fact]
    public async Task AssignRole_Handoff_RecordsHistoryAndTimeline()
    {
        var incident = await DeclareAsync();
        await Incidents.AssignRoleAsync(incident.Number, IncidentRole.Commander, Bo, AsAnn, default);
        Clock.Advance(TimeSpan.FromMinutes(5));
        var result = await Incidents.AssignRoleAsync(incident.Number, IncidentRole.Commander, Cy, AsAnn, default);

        Assert.Equal("INC-1: Bo handed Incident commander to Cy.", result.Message);
        Assert.True(Cy.IsSameAs(result.Incident.RoleHolder(IncidentRole.Commander)));
        var history = await Store.GetRoleHistoryAsync(incident.Id, default);
        Assert.Equal(2, history.Count);
        Assert.Equal(history[1].AssignedAt, history[0].EndedAt);
        Assert.Null(history[1].EndedAt);
        Assert.Equal(["Bo is Incident commander", "Bo handed Incident commander to Cy"],
            (await TimelineAsync(incident)).Where(e => e.Kind == TimelineKind.Role).Select(e => e.Text).ToArray());
    }

    [Fact]
    public async Task AssignRole_SameHolder_TellsTheUser()
    {
        var incident = await DeclareAsync();
        await Incidents.AssignRoleAsync(incident.Number, IncidentRole.Scribe, Bo, AsAnn, default);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.AssignRoleAsync(incident.Number, IncidentRole.Scribe, Bo, AsAnn, default));
        Assert.Equal("Bo is already Scribe of INC-1.", error.Message);
    }

    [Fact]
    public async Task ChangeSeverity_RecomputesDueFromLastUpdate()
    {
        var incident = await DeclareAsync(Severity.Sev2);
        Clock.Advance(TimeSpan.FromMinutes(10));
        await Incidents.PostUpdateAsync(incident.Number, "looking at the LB", AsAnn, default);
        var updatedAt = Clock.GetUtcNow();
        Clock.Advance(TimeSpan.FromMinutes(2));

        var raised = await Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, AsAnn, default);
        Assert.Equal(updatedAt.AddMinutes(15), raised.Incident.NextUpdateDueAt);

        var lowered = await Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev3, AsAnn, default);
        Assert.Null(lowered.Incident.NextUpdateDueAt);
        Assert.Equal("INC-1: Severity changed from SEV1 to SEV3.", lowered.Message);
    }

    [Fact]
    public async Task ChangeSeverity_Same_TellsTheUser()
    {
        var incident = await DeclareAsync(Severity.Sev2);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev2, AsAnn, default));
        Assert.Equal("INC-1 is already SEV2.", error.Message);
    }

    [Fact]
    public async Task ChangeStatus_ToMonitoring_SetsMitigatedOnce()
    {
        var incident = await DeclareAsync();
        Clock.Advance(TimeSpan.FromMinutes(20));
        var monitoring = await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Monitoring, AsAnn, default);
        var mitigatedAt = Clock.GetUtcNow();
        Assert.Equal(mitigatedAt, monitoring.Incident.MitigatedAt);

        Clock.Advance(TimeSpan.FromMinutes(5));
        await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Investigating, AsAnn, default);
        var again = await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Monitoring, AsAnn, default);
        Assert.Equal(mitigatedAt, again.Incident.MitigatedAt);
    }

    [Fact]
    public async Task ChangeStatus_ToResolved_Resolves()
    {
        var incident = await DeclareAsync();
        var result = await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Resolved, AsAnn, default);
        Assert.True(result.Incident.IsResolved);
        Assert.Null(result.Incident.NextUpdateDueAt);
    }

    [Fact]
    public async Task PostUpdate_ResetsDueTime()
    {
        var incident = await DeclareAsync(Severity.Sev1);
        Clock.Advance(TimeSpan.FromMinutes(12));
        var result = await Incidents.PostUpdateAsync(incident.Number, "Rolled back", AsAnn, default);

        Assert.Equal(Clock.GetUtcNow(), result.Incident.LastUpdateAt);
        Assert.Equal(Clock.GetUtcNow().AddMinutes(15), result.Incident.NextUpdateDueAt);
        Assert.Equal(TimelineKind.Update, (await TimelineAsync(incident))[^1].Kind);
    }

    [Fact]
    public async Task Acknowledge_Twice_TellsWhen()
    {
        var incident = await DeclareAsync();
        await Incidents.AcknowledgeAsync(incident.Number, AsAnn, default);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.AcknowledgeAsync(incident.Number, AsAnn, default));
        Assert.Equal("INC-1 was already acknowledged at 2026-11-20 23:50 UTC.", error.Message);
    }

    [Fact]
    public async Task Resolve_AcrossMidnight_ReportsDurationAndStopsReminders()
    {
        var incident = await DeclareAsync();
        Clock.Advance(TimeSpan.FromHours(26) + TimeSpan.FromMinutes(5));
        var result = await Incidents.ResolveAsync(incident.Number, "bad config rolled back", AsAnn, default);

        Assert.Equal("INC-1 resolved after 1 d 2 h.", result.Message);
        Assert.Equal(IncidentStatus.Resolved, result.Incident.Status);
        Assert.Equal(Clock.GetUtcNow(), result.Incident.ResolvedAt);
        Assert.Equal(Clock.GetUtcNow(), result.Incident.MitigatedAt);
        Assert.Null(result.Incident.NextUpdateDueAt);
        Assert.Equal("bad config rolled back", result.Incident.Summary);
    }

    [Fact]
    public async Task Commands_OnResolvedIncident_SayItIsResolved()
    {
        var incident = await DeclareAsync();
        await Incidents.ResolveAsync(incident.Number, null, AsAnn, default);

        foreach (var attempt in new Func<Task>[]
        {
            () => Incidents.ResolveAsync(incident.Number, null, AsAnn, default),
            () => Incidents.PostUpdateAsync(incident.Number, "x", AsAnn, default),
            () => Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev2, AsAnn, default),
            () => Incidents.AcknowledgeAsync(incident.Number, AsAnn, default),
            () => Incidents.SnoozeAsync(incident.Number, 10, AsAnn, default),
        })
        {
            var error = await Assert.ThrowsAsync<IncidentRuleException>(attempt);
            Assert.Equal("INC-1 is already resolved. Use `reopen` first.", error.Message);
        }
    }

    [Fact]
    public async Task Reopen_Resolved_RestartsReminders()
    {
        var incident = await DeclareAsync(Severity.Sev2);
        await Incidents.ResolveAsync(incident.Number, null, AsAnn, default);
        Clock.Advance(TimeSpan.FromHours(1));
        var result = await Incidents.ReopenAsync(incident.Number, AsAnn, default);

        Assert.Equal(IncidentStatus.Investigating, result.Incident.Status);
        Assert.Null(result.Incident.ResolvedAt);
        Assert.Equal(Clock.GetUtcNow().AddMinutes(30), result.Incident.NextUpdateDueAt);
        var open = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.ReopenAsync(incident.Number, AsAnn, default));
        Assert.Equal("INC-1 is not resolved.", open.Message);
    }

    [Fact]
    public async Task Reopen_AfterAcknowledge_NeedsAcknowledgingAgain()
    {
        var incident = await DeclareAsync(Severity.Sev1);
        await Incidents.AcknowledgeAsync(incident.Number, AsAnn, default);
        await Incidents.ResolveAsync(incident.Number, null, AsAnn, default);
        Clock.Advance(TimeSpan.FromHours(2));

        var reopened = await Incidents.ReopenAsync(incident.Number, AsAnn, default);
        Assert.Null(reopened.Incident.AcknowledgedAt);

        var acked = await Incidents.AcknowledgeAsync(incident.Number, AsAnn, default);
        Assert.Equal(Clock.GetUtcNow(), acked.Incident.AcknowledgedAt);
    }

    [Fact]
    public async Task Snooze_PostponesFromNow()
    {
        var incident = await DeclareAsync(Severity.Sev1);
        Clock.Advance(TimeSpan.FromMinutes(14));
        var result = await Incidents.SnoozeAsync(incident.Number, 30, AsAnn, default);
        Assert.Equal(Clock.GetUtcNow().AddMinutes(30), result.Incident.NextUpdateDueAt);
    }

    [Fact]
    public async Task Snooze_WithoutReminders_TellsTheUser()
    {
        var incident = await DeclareAsync(Severity.Sev4);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.SnoozeAsync(incident.Number, 30, AsAnn, default));
        Assert.Equal("INC-1 has no update reminders at SEV4.", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(24 * 60 + 1)]
    public async Task Snooze_OutOfRange_TellsTheRange(int minutes)
    {
        var incident = await DeclareAsync(Severity.Sev1);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.SnoozeAsync(incident.Number, minutes, AsAnn, default));
        Assert.Equal("Snooze takes 1 to 1440 minutes.", error.Message);
    }

    [Fact]
    public async Task AddActionItem_StoresOwner()
    {
        var incident = await DeclareAsync();
        await Incidents.AddActionItemAsync(incident.Number, "Alert on queue depth", Bo, AsAnn, default);
        var item = Assert.Single(await Store.GetActionItemsAsync(incident.Id, default));
        Assert.Equal("Alert on queue depth", item.Text);
        Assert.True(Bo.IsSameAs(item.Owner));
    }

    [Fact]
    public async Task LinkWarRoom_TakenByAnotherIncident_NamesIt()
    {
        var first = await DeclareAsync();
        var second = await DeclareAsync(title: "Second");
        var room = new ChatSpace("chat", "C-SHARED");
        await Incidents.LinkWarRoomAsync(first.Number, room, AsAnn, default);
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.LinkWarRoomAsync(second.Number, room, AsAnn, default));
        Assert.Equal("This conversation is already the war room of INC-1.", error.Message);
    }

    [Fact]
    public async Task LinkOpenedWarRoom_RoomTheBotJustOpened_LinkedInThatStepWithoutASecondOutboxRound()
    {
        var incident = await DeclareAsync();
        var room = new ChatSpace("chat", "C-OPENED");

        await Incidents.LinkOpenedWarRoomAsync(incident.Number, room, AsAnn, default);

        Assert.Equal(incident.Id, (await Store.FindByWarRoomAsync(room, default))?.Id);
        Assert.Contains(await TimelineAsync(incident), e => e.Kind == TimelineKind.System && e.Text == "Conversation linked as a war room");
        await Outbox.CheckInAsync(starting: true, default);
        var events = new List<IncidentEvent>();
        for (var batch = await ClaimAsync(); batch.Count > 0; batch = await ClaimAsync())
        {
            foreach (var delivery in batch)
            {
                events.Add(delivery.Event);
                await Outbox.CompleteAsync(delivery.MessageId, delivery.Handler, default);
            }
        }

        Assert.IsType<IncidentDeclared>(Assert.Single(events));
    }

    private Task<IReadOnlyList<OutboxDelivery>> ClaimAsync() =>
        Outbox.ClaimAsync(new Dictionary<string, int> { ["any"] = 100 }, TimeSpan.FromMinutes(1), default);

    [Fact]
    public async Task CaptureMessage_OutsideWarRoom_IsIgnored()
    {
        await DeclareAsync();
        var captured = await Incidents.CaptureMessageAsync(
            new CapturedMessage(new MessageRef("chat", "C-RANDOM", "1"), Bo, "lunch?", Clock.GetUtcNow()), default);
        Assert.Null(captured);
    }

    [Fact]
    public async Task SetPinned_UncapturedMessageWithContent_CapturesItPinnedAtOriginalTime()
    {
        var incident = await DeclareAsync();
        var room = new ChatSpace("chat", "C-WAR");
        await Incidents.LinkWarRoomAsync(incident.Number, room, AsAnn, default);
        var postedAt = Clock.GetUtcNow().AddMinutes(-1);
        Clock.Advance(TimeSpan.FromMinutes(10));
        var source = new MessageRef("chat", room.Channel, "m-1");

        var pinned = await Incidents.SetPinnedAsync(source, true, new CapturedMessage(source, Bo, "root cause: expired cert", postedAt), default);

        Assert.NotNull(pinned);
        Assert.True(pinned.Pinned);
        Assert.Equal(postedAt, pinned.OccurredAt);
        var unpinned = await Incidents.SetPinnedAsync(source, false, null, default);
        Assert.False(unpinned!.Pinned);
    }

    [Fact]
    public async Task UnknownIncident_TellsTheUser()
    {
        var error = await Assert.ThrowsAsync<IncidentRuleException>(() => Incidents.AddNoteAsync(new IncidentNumber(404), "x", AsAnn, default));
        Assert.Equal("INC-404 does not exist.", error.Message);
    }

    [Fact]
    public async Task ConcurrentChanges_OnOneIncident_AllApply()
    {
        var incident = await DeclareAsync();
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Incidents.AddNoteAsync(incident.Number, $"note {i}", AsAnn, default)));
        var notes = (await TimelineAsync(incident)).Where(e => e.Kind == TimelineKind.Note).Select(e => e.Text).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"note {i}").Order().ToArray(), notes);
    }
}
