using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;

namespace IncidentBot.Core.Tests;

public sealed class WarRoomNoticeTests
{
    private static readonly Person Ann = new("chat", "U-ANN", "Ann");
    private static readonly Person Bo = new("chat", "U-BO", "Bo");

    private static readonly (IncidentEvent Event, string Sentence)[] Sentences =
    [
        (new RoleAssigned(IncidentRole.Commander, Bo, null), "Bo is now Incident commander (set by Ann)."),
        (new SeverityChanged(Severity.Sev3, Severity.Sev1), "Severity changed from SEV3 to SEV1 by Ann."),
        (new UpdatePosted("Rolled back"), "Status update from Ann: Rolled back"),
        (new IncidentAcknowledged { Pager = "PagerDuty" }, "INC-9 acknowledged in PagerDuty by Ann; escalation stopped."),
        (new IncidentResolved("Cert renewed"), "INC-9 resolved by Ann: Cert renewed"),
        (new UpdateSnoozed(new DateTimeOffset(2026, 1, 2, 10, 30, 0, TimeSpan.Zero)), "Ann snoozed the update reminder until 2026-01-02 10:30 UTC."),
        (new ActionItemAdded("Alert on queue depth", Bo), "Action item for Bo: Alert on queue depth"),
        (new IncidentEscalated(2, ["pagerduty"], "nobody acknowledged"), "INC-9 escalated to level 2 (pagerduty): nobody acknowledged"),
    ];

    [Fact]
    public void For_AnnouncedEvents_OneSentenceForEveryPlatform()
    {
        foreach (var (incidentEvent, sentence) in Sentences)
        {
            var notice = WarRoomNotices.For(incidentEvent with { Number = new IncidentNumber(9), Actor = Ann });

            Assert.Equal(sentence, notice?.ToString());
        }
    }

    [Fact]
    public void For_EventsAnsweredElsewhere_NoNotice()
    {
        Assert.Null(WarRoomNotices.For(new NoteAdded("just a note")));
        Assert.Null(WarRoomNotices.For(new UpdateReminderDue(DateTimeOffset.UnixEpoch, 1, null, null)));
        Assert.Null(WarRoomNotices.For(new EscalationStateChanged()));
        Assert.Null(WarRoomNotices.For(new BridgeRequested()));
        Assert.Null(WarRoomNotices.For(new MeetingEnded(new ChatSpace("teams", "19:meeting_x@thread.v2"))));
    }

    [Fact]
    public void Announcement_Public_NamesTitleAndDeclarer()
    {
        var incident = Incident(isPrivate: false);

        Assert.Equal("INC-9 declared (SEV2) by Ann: Payroll export leaked", WarRoomNotices.Announcement(incident, PrivateAnnouncement.None)?.ToString());
    }

    [Fact]
    public void Announcement_Private_NothingOrTheNumberOnly()
    {
        var incident = Incident(isPrivate: true);

        Assert.Null(WarRoomNotices.Announcement(incident, PrivateAnnouncement.None));
        Assert.Equal("A private incident was declared: INC-9.", WarRoomNotices.Announcement(incident, PrivateAnnouncement.Number)?.ToString());
    }

    [Fact]
    public void MovedToPrivate_PointsToWhomToAsk_NoTitle()
    {
        var pointer = WarRoomNotices.MovedToPrivate(Incident(isPrivate: true)).ToString();

        Assert.StartsWith("INC-9 is private now.", pointer, StringComparison.Ordinal);
        Assert.Contains("ask Ann to be added", pointer, StringComparison.Ordinal);
        Assert.DoesNotContain("Payroll", pointer, StringComparison.Ordinal);
    }

    private static Incident Incident(bool isPrivate) =>
        Core.Incidents.Incident.Declare(new IncidentNumber(9), "Payroll export leaked", null, Severity.Sev2, Ann, DateTimeOffset.UnixEpoch, new UpdateCadence(), isPrivate);

    [Fact]
    public void DeliveryKey_FromTheEventsStableName()
    {
        var update = new UpdatePosted("x") { IncidentId = 7, OccurredAt = new DateTimeOffset(621355968000000000 + 5, TimeSpan.Zero) };

        Assert.Equal("7:update_posted:621355968000000005:announce", DeliveryKey.For(update, DeliveryKey.Announce));
    }
}
