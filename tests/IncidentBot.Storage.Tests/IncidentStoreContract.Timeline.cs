using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    private static readonly MessageRef Message1 = new("slack", Room1.Channel, "1741944413.000100");

    protected static NewTimelineEntry ChatMessage(MessageRef source, string text, DateTimeOffset postedAt) =>
        new(postedAt, TimelineKind.Message, Carol, text, Source: source);

    [Fact]
    public async Task GetTimelineAsync_EntriesOfEveryKind_OldestFirstByOriginalTime()
    {
        var incident = await DeclareAsync(severity: Severity.Sev2, commander: Bob, warRoom: Room1);
        Clock.Advance(TimeSpan.FromMinutes(2));
        await Incidents.AddNoteAsync(incident.Number, "Looking at the load balancer", AsAlice, None);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Incidents.PostUpdateAsync(incident.Number, "Mitigation in progress", AsAlice, None);
        await Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, AsAlice, None);
        await Incidents.ChangeStatusAsync(incident.Number, IncidentStatus.Identified, AsAlice, None);
        await Incidents.RequestPageAsync(incident.Number, 1, null, AsAlice, None);
        // Captured late, but posted one minute after the declaration: it sorts by when it was said.
        await Incidents.CaptureMessageAsync(new CapturedMessage(Message1, Carol, "I see 502s from the edge", Start + TimeSpan.FromMinutes(1)), None);

        var timeline = await Store.GetTimelineAsync(incident.Id, None);

        Assert.Equal(
            [TimelineKind.System, TimelineKind.Role, TimelineKind.Message, TimelineKind.Note, TimelineKind.Update, TimelineKind.Severity, TimelineKind.Status, TimelineKind.Page],
            timeline.Select(e => e.Kind));
        Assert.All(timeline, e => Assert.Equal(incident.Id, e.IncidentId));
        Assert.Equal(timeline.OrderBy(e => e.OccurredAt).ThenBy(e => e.Id).Select(e => e.Id), timeline.Select(e => e.Id));
        var message = timeline[2];
        Assert.Equal(("I see 502s from the edge", Carol, Message1, false), (message.Text, message.Author, message.Source, message.Pinned));
        AssertStoredTime(Start + TimeSpan.FromMinutes(1), message.OccurredAt);
        Assert.Null(message.EditedAt);
        Assert.Equal(("Looking at the load balancer", Alice, (MessageRef?)null), (timeline[3].Text, timeline[3].Author, timeline[3].Source));
    }

    [Fact]
    public async Task CaptureMessageAsync_SameSourceTwice_StoresOnce()
    {
        var incident = await DeclareAsync(warRoom: Room1);

        var first = await Store.CaptureMessageAsync(ChatMessage(Message1, "Deploy 4411 went out at 09:20", Start), None);
        var second = await Store.CaptureMessageAsync(ChatMessage(Message1, "Redelivered copy", Start), None);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal(("Deploy 4411 went out at 09:20", Message1, Carol), (first.Text, first.Source, first.Author));
        var messages = (await Store.GetTimelineAsync(incident.Id, None)).Where(e => e.Kind == TimelineKind.Message);
        Assert.Equal(first, Assert.Single(messages));
        Assert.Equal(first, await Store.FindBySourceAsync(Message1, None));
    }

    [Fact]
    public async Task CaptureMessageAsync_TenConcurrentDeliveries_StoresExactlyOne()
    {
        var incident = await DeclareAsync(warRoom: Room1);

        var captures = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() =>
            Store.CaptureMessageAsync(ChatMessage(Message1, $"Delivery {i}", Start), None))));

        var stored = Assert.Single(captures, c => c is not null);
        Assert.Equal(stored, Assert.Single(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Message));
    }

    [Fact]
    public async Task CaptureMessageAsync_SameMessageIdInAnotherWarRoom_IsAnotherMessageOfThatIncident()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var otherRoom = new ChatSpace("slack", "C0OTHER");
        var other = await DeclareAsync("Another outage", warRoom: otherRoom);
        var elsewhere = Message1 with { Channel = otherRoom.Channel };

        await Store.CaptureMessageAsync(ChatMessage(Message1, "here", Start), None);
        var there = await Store.CaptureMessageAsync(ChatMessage(elsewhere, "there", Start), None);

        Assert.Equal(other.Id, there?.IncidentId);
        Assert.Single(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Message);
        Assert.Single(await Store.GetTimelineAsync(other.Id, None), e => e.Kind == TimelineKind.Message);
    }

    [Fact]
    public async Task CaptureMessageAsync_InAConversationThatIsNoWarRoom_StoresNothing()
    {
        var incident = await DeclareAsync(warRoom: Room1);

        var captured = await Store.CaptureMessageAsync(ChatMessage(Message1 with { Channel = "C0GENERAL" }, "lunch?", Start), None);

        Assert.Null(captured);
        Assert.DoesNotContain(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Message);
    }

    [Fact]
    public async Task EditMessageAsync_LiveEntry_ChangesTextAndKeepsOriginalTime()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var captured = await Store.CaptureMessageAsync(ChatMessage(Message1, "Deploy 4411 went out", Start), None);
        var editedAt = Start + TimeSpan.FromMinutes(4);

        var edited = await Store.EditMessageAsync(Message1, "Deploy 4411 went out at 09:20", editedAt, None);

        Assert.NotNull(captured);
        Assert.NotNull(edited);
        Assert.Equal((captured.Id, "Deploy 4411 went out at 09:20"), (edited.Id, edited.Text));
        Assert.Equal(captured.OccurredAt, edited.OccurredAt);
        AssertStoredTime(editedAt, edited.EditedAt);
        Assert.Equal(edited, await Store.FindBySourceAsync(Message1, None));
        Assert.Null(await Store.EditMessageAsync(Message1 with { MessageId = "unknown" }, "text", editedAt, None));
    }

    [Fact]
    public async Task DeleteMessageAsync_LiveEntry_HidesItAndRedeliveryIsNotCapturedAgain()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        await Store.CaptureMessageAsync(ChatMessage(Message1, "Oops, wrong channel", Start), None);

        var deleted = await Store.DeleteMessageAsync(Message1, None);

        Assert.True(deleted);
        Assert.DoesNotContain(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Message);
        Assert.Null(await Store.FindBySourceAsync(Message1, None));
        Assert.Null(await Store.EditMessageAsync(Message1, "edited after delete", Now, None));
        Assert.Null(await Store.SetPinnedAsync(Message1, pinned: true, None));
        Assert.False(await Store.DeleteMessageAsync(Message1, None));
        Assert.Null(await Store.CaptureMessageAsync(ChatMessage(Message1, "Oops, wrong channel", Start), None));
        Assert.DoesNotContain(await Store.GetTimelineAsync(incident.Id, None), e => e.Kind == TimelineKind.Message);
    }

    [Fact]
    public async Task DeleteMessageAsync_UnknownSource_ReturnsFalse()
    {
        await DeclareAsync(warRoom: Room1);

        Assert.False(await Store.DeleteMessageAsync(Message1, None));
    }

    [Fact]
    public async Task SetPinnedAsync_PinThenUnpin_KeepsOriginalTime()
    {
        var incident = await DeclareAsync(warRoom: Room1);
        var captured = await Store.CaptureMessageAsync(ChatMessage(Message1, "Root cause: expired cert", Start), None);
        Clock.Advance(TimeSpan.FromMinutes(30));

        var pinned = await Store.SetPinnedAsync(Message1, pinned: true, None);
        var timelineWhilePinned = await Store.GetTimelineAsync(incident.Id, None);
        var unpinned = await Store.SetPinnedAsync(Message1, pinned: false, None);

        Assert.NotNull(captured);
        Assert.NotNull(pinned);
        Assert.NotNull(unpinned);
        Assert.True(pinned.Pinned);
        Assert.False(unpinned.Pinned);
        Assert.Equal(captured.OccurredAt, pinned.OccurredAt);
        Assert.Equal(captured.OccurredAt, unpinned.OccurredAt);
        Assert.True(Assert.Single(timelineWhilePinned, e => e.Id == captured.Id).Pinned);
        Assert.Null(await Store.SetPinnedAsync(Message1 with { MessageId = "unknown" }, pinned: true, None));
    }

    [Fact]
    public async Task SetPinnedAsync_NeverCapturedMessageThroughService_CapturesItPinned()
    {
        await DeclareAsync(warRoom: Room1);
        var content = new CapturedMessage(Message1, Carol, "Customer impact started 09:12", Start - TimeSpan.FromMinutes(10));

        var pinned = await Incidents.SetPinnedAsync(Message1, pinned: true, content, None);

        Assert.NotNull(pinned);
        Assert.True(pinned.Pinned);
        AssertStoredTime(content.PostedAt, pinned.OccurredAt);
    }
}
