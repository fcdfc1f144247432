using System.Globalization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.WarRooms;

/// <summary>What a notice is about; a renderer may show it as an icon.</summary>
public enum NoticeTopic
{
    Role,
    Severity,
    Status,
    Update,
    Acknowledged,
    Resolved,
    Reopened,
    Page,
    Snooze,
    ActionItem,
    Warning,
    Escalation,
    Declared,
    Private,
}

/// <summary>What an announcements channel hears of a private incident (the front-end's private-announcement setting).</summary>
public enum PrivateAnnouncement
{
    /// <summary>Private incidents are not announced.</summary>
    None,

    /// <summary>"A private incident was declared: INC-42", without title, severity, declarer or room.</summary>
    Number,
}

/// <summary>A piece of a notice's sentence; renderers format each kind in the platform's own way and escape the text.</summary>
public abstract record NoticePart;

/// <summary>Plain words.</summary>
public sealed record NoticeText(string Text) : NoticePart;

/// <summary>Words that carry the news (a role, the new severity); shown strong where the platform can.</summary>
public sealed record NoticeStrong(string Text) : NoticePart;

/// <summary>A person, mentioned where the platform can; null is the bot itself (a change nobody in chat made).</summary>
public sealed record NoticePerson(Person? Person) : NoticePart;

/// <summary>A moment, shown in the reader's time zone where the platform can.</summary>
public sealed record NoticeTime(DateTimeOffset At) : NoticePart;

/// <summary>A command to type (<c>role ic me</c>); the renderer adds how the bot is addressed there.</summary>
public sealed record NoticeCommand(string Command) : NoticePart;

/// <summary>Someone's own text (a status update), set apart from the sentence.</summary>
public sealed record NoticeQuote(string Text) : NoticePart;

/// <summary>A sentence the war rooms are told about an incident event, platform-neutral.</summary>
public sealed record WarRoomNotice(NoticeTopic Topic, IReadOnlyList<NoticePart> Parts)
{
    /// <summary>The sentence as plain text (people by name), for logs and tests.</summary>
    public override string ToString() => string.Concat(Parts.Select(p => p switch
    {
        NoticeText t => t.Text,
        NoticeStrong s => s.Text,
        NoticePerson { Person: { } person } => person.DisplayName,
        NoticePerson => WarRoomNotices.BotName,
        NoticeTime t => t.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
        NoticeCommand c => c.Command,
        NoticeQuote q => " " + q.Text,
        _ => "",
    }));
}

/// <summary>
/// The one table of what each incident event says in a war room. Both chat front-ends post these sentences, so they
/// announce the same events in the same words; they only format them in their own markup.
/// </summary>
public static class WarRoomNotices
{
    public const string BotName = "IncidentBot";

    /// <summary>The notice for <paramref name="incidentEvent"/>, or null when the war rooms are not told (the reminder is a card of its own).</summary>
    public static WarRoomNotice? For(IncidentEvent incidentEvent)
    {
        ArgumentNullException.ThrowIfNull(incidentEvent);
        var by = new NoticePerson(incidentEvent.Actor);
        var number = incidentEvent.Number.ToString();
        return incidentEvent switch
        {
            RoleAssigned { Previous: null } r => new(NoticeTopic.Role, [Who(r.Holder), Text(" is now "), Strong(r.Role.ToTitle()), Text(" (set by "), by, Text(").")]),
            RoleAssigned r => new(NoticeTopic.Role, [Who(r.Previous), Text(" handed "), Strong(r.Role.ToTitle()), Text(" to "), Who(r.Holder), Text(" (by "), by, Text(").")]),
            SeverityChanged s => new(NoticeTopic.Severity, [Text($"Severity changed from {s.From.ToLabel()} to "), Strong(s.To.ToLabel()), Text(" by "), by, Text(".")]),
            StatusChanged s => new(NoticeTopic.Status, [Text($"Status changed from {s.From.ToToken()} to "), Strong(s.To.ToToken()), Text(" by "), by, Text(".")]),
            UpdatePosted u => new(NoticeTopic.Update, [Strong("Status update"), Text(" from "), by, Text(":"), new NoticeQuote(u.Text)]),
            IncidentAcknowledged { Pager: { } pager } => new(NoticeTopic.Acknowledged, [Text($"{number} acknowledged in {pager}"), .. ByWhom(incidentEvent), Text("; escalation stopped.")]),
            IncidentAcknowledged => new(NoticeTopic.Acknowledged, [Text($"{number} acknowledged by "), by, Text("; escalation stopped.")]),
            IncidentResolved { Pager: { } pager } => new(NoticeTopic.Resolved, [Text($"{number} resolved in {pager}"), .. ByWhom(incidentEvent), Text(".")]),
            IncidentResolved { Summary: { } summary } => new(NoticeTopic.Resolved, [Text($"{number} resolved by "), by, Text(": " + summary)]),
            IncidentResolved => new(NoticeTopic.Resolved, [Text($"{number} resolved by "), by, Text(".")]),
            IncidentReopened => new(NoticeTopic.Reopened, [Text($"{number} reopened by "), by, Text(".")]),
            PageRequested p => new(NoticeTopic.Page, [by, Text(" paged "), p.Target is { } target ? (NoticePart)Who(target) : Text(p.Level is { } level ? $"escalation level {level}" : "the escalation chain"), Text(".")]),
            UpdateSnoozed s => new(NoticeTopic.Snooze, [by, Text(" snoozed the update reminder until "), new NoticeTime(s.Until), Text(".")]),
            ActionItemAdded { Owner: { } owner } a => new(NoticeTopic.ActionItem, [Text("Action item for "), Who(owner), Text(": " + a.Text)]),
            ActionItemAdded a => new(NoticeTopic.ActionItem, [Text("Action item: " + a.Text)]),
            CommanderMissing => new(NoticeTopic.Warning, [Text($"{number} has no incident commander yet. Take it with "), new NoticeCommand("role ic me"), Text(".")]),
            IncidentEscalated { Level: 0 } e => new(NoticeTopic.Escalation, [Text($"Paged {string.Join(", ", e.Targets)}: {e.Reason}")]),
            IncidentEscalated e => new(NoticeTopic.Escalation, [Text(string.Create(CultureInfo.InvariantCulture, $"{number} escalated to level {e.Level} ({string.Join(", ", e.Targets)}): {e.Reason}"))]),
            _ => null,
        };
    }

    /// <summary>
    /// What an announcements channel hears of a newly declared incident: a public one with its title and declarer, a private
    /// one (seen beyond its war room) at most by its number (<paramref name="privateAnnouncement"/>), or nothing (null).
    /// </summary>
    public static WarRoomNotice? Announcement(Incident incident, PrivateAnnouncement privateAnnouncement)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var number = incident.Number.ToString();
        return incident.IsPrivate switch
        {
            true when privateAnnouncement == PrivateAnnouncement.Number => new(NoticeTopic.Private, [Text("A private incident was declared: "), Strong(number), Text(".")]),
            true => null,
            false => new(NoticeTopic.Declared, [Strong(number), Text($" declared ({incident.Severity.ToLabel()}) by "), Who(incident.DeclaredBy), Text(": " + incident.Title)]),
        };
    }

    /// <summary>
    /// Said in a war room the incident left when it turned private (seen beyond the people named): no title, only where to
    /// ask. The room hears nothing more of the incident.
    /// </summary>
    public static WarRoomNotice MovedToPrivate(Incident incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        return new(NoticeTopic.Private, [
            Strong(incident.Number.ToString()), Text(" is private now. Its war room moved to a private room and this one hears nothing more of it; ask "),
            Who(incident.RoleHolder(IncidentRole.Commander) ?? incident.DeclaredBy), Text(" to be added."),
        ]);
    }

    private static NoticeText Text(string text) => new(text);

    private static NoticeStrong Strong(string text) => new(text);

    private static NoticePerson Who(Person? person) => new(person);

    private static NoticePart[] ByWhom(IncidentEvent incidentEvent) => incidentEvent.Actor is { } actor ? [Text(" by "), Who(actor)] : [];
}
