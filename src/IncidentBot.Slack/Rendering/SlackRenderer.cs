using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Slack.WebApi;
using static IncidentBot.Slack.Rendering.BlockKit;

namespace IncidentBot.Slack.Rendering;

/// <summary>Turns incidents, command replies and incident events into Slack messages and views.</summary>
public static class SlackRenderer
{
    public const int MaxTimelineBlocks = MaxMessageBlocks;

    public static string Mention(Person? person) => person switch
    {
        null => "_unassigned_",
        { Platform: SlackIds.Platform } => $"<@{person.UserId}>",
        _ => Escape(person.DisplayName),
    };

    public static string Date(DateTimeOffset at) =>
        $"<!date^{at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}^{{date_short_pretty}} {{time}}|{at.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC>";

    public static string Topic(Incident incident) =>
        Truncate($"{incident.Number} · {incident.Severity.ToLabel()} · {incident.Status.ToToken()} · {incident.Title}", 250);

    public static string Purpose(Incident incident) =>
        Truncate($"War room of {incident.Number}: {incident.Title}. Declared by {incident.DeclaredBy.DisplayName}.", 250);

    /// <summary>The incident card: state, roles, the escalation (who was paged, acknowledged, next) and the buttons that change them.</summary>
    public static SlackMessage Card(Incident incident, EscalationState? escalation = null)
    {
        var icon = incident.IsResolved ? ":white_check_mark:" : ":rotating_light:";
        var blocks = new List<JsonObject>
        {
            Header($"{incident.Number} · {incident.Severity.ToLabel()} · {incident.Title}"),
            Fields(
            [
                $"*Status*\n{incident.Status.ToToken()}",
                $"*Severity*\n{incident.Severity.ToLabel()}",
                $"*{IncidentRole.Commander.ToTitle()}*\n{Mention(incident.RoleHolder(IncidentRole.Commander))}",
                $"*{IncidentRole.Lead.ToTitle()}*\n{Mention(incident.RoleHolder(IncidentRole.Lead))}",
                $"*{IncidentRole.Comms.ToTitle()}*\n{Mention(incident.RoleHolder(IncidentRole.Comms))}",
                $"*{IncidentRole.Scribe.ToTitle()}*\n{Mention(incident.RoleHolder(IncidentRole.Scribe))}",
                $"*Next update due*\n{(incident.NextUpdateDueAt is { } due && !incident.IsResolved ? Date(due) : "—")}",
                $"*Acknowledged*\n{(incident.AcknowledgedAt is { } ack ? Date(ack) : "not yet")}",
            ]),
        };
        if (!string.IsNullOrWhiteSpace(incident.Description))
        {
            blocks.Add(Section(Escape(incident.Description)));
        }

        if (escalation is { IsEmpty: false } || escalation?.Acknowledged is not null)
        {
            blocks.Add(Section(Escalation(escalation)));
        }

        var blockId = SlackIds.CardBlockPrefix + incident.Number;
        if (!incident.IsResolved)
        {
            blocks.Add(Actions(blockId + ":roles", IncidentRoleText.All.Select(role =>
                UsersSelect(SlackIds.RoleActionPrefix + role.ToToken(), $"Assign {role.ToTitle()}", incident.RoleHolder(role) is { Platform: SlackIds.Platform } holder ? holder.UserId : null))));
            var buttons = new List<JsonObject>
            {
                StaticSelect(SlackIds.SeverityAction, "Severity", Enum.GetValues<Severity>().Select(s => Option(s.ToLabel(), s.ToLabel())), Option(incident.Severity.ToLabel(), incident.Severity.ToLabel())),
                StaticSelect(SlackIds.StatusAction, "Status", Enum.GetValues<IncidentStatus>().Select(s => Option(s.ToToken(), s.ToToken())), Option(incident.Status.ToToken(), incident.Status.ToToken())),
                Button("Post update", SlackIds.PostUpdateAction, incident.Number.ToString(), "primary"),
            };
            if (incident.AcknowledgedAt is null)
            {
                buttons.Add(Button("Acknowledge", SlackIds.AcknowledgeAction, incident.Number.ToString()));
            }

            buttons.Add(Button("Postmortem", SlackIds.PostmortemAction, incident.Number.ToString()));
            buttons.Add(Button("Resolve", SlackIds.ResolveAction, incident.Number.ToString(), "danger"));
            blocks.Add(Actions(blockId + ":state", buttons));
        }
        else
        {
            // Once resolved, the draft is what the card is for.
            blocks.Add(Actions(blockId + ":state", [Button("Postmortem", SlackIds.PostmortemAction, incident.Number.ToString(), "primary")]));
        }

        blocks.Add(Context($"{icon} Declared by {Mention(incident.DeclaredBy)} {Date(incident.DeclaredAt)}"));
        return new SlackMessage(Truncate($"{incident.Number} ({incident.Severity.ToLabel()}, {incident.Status.ToToken()}): {incident.Title}", MaxMessageText), Limit(blocks));
    }

    /// <summary>The card's escalation section: the latest pages (level, target, alert key, outcome, when), the ack, the next level.</summary>
    public static string Escalation(EscalationState escalation)
    {
        var lines = new List<string> { "*Escalation*" };
        lines.AddRange(escalation.Pages.Select(p =>
            $"• {(p.Level == 0 ? "Person" : $"Level {p.Level.ToString(CultureInfo.InvariantCulture)}")} · {Escape(p.Target)} · `{Escape(p.Key)}` · {Escape(p.Status)} {Date(p.At)}"));
        if (escalation.TotalPages > escalation.Pages.Count)
        {
            lines.Add($"• …and {(escalation.TotalPages - escalation.Pages.Count).ToString(CultureInfo.InvariantCulture)} earlier page(s)");
        }

        if (escalation.Acknowledged is { } acknowledged)
        {
            lines.Add($":white_check_mark: {Escape(acknowledged)}");
        }

        if (escalation.Next is { } next)
        {
            lines.Add($":hourglass_flowing_sand: Next: level {next.Level.ToString(CultureInfo.InvariantCulture)} ({Escape(string.Join(", ", next.Targets))}) {Date(next.At)}");
        }

        return Truncate(string.Join("\n", lines), MaxSectionText);
    }

    /// <summary>What a slash command answers; <paramref name="inWarRoom"/> keeps changes private there, since the war room gets its own post.</summary>
    public static SlackMessage Reply(CommandReply reply, bool inWarRoom)
    {
        switch (reply.Kind)
        {
            case ReplyKind.Declared when reply.Incident is { IsPrivate: true }:
                // Only the declarer hears of it in the conversation it was declared in; Core's text names no title.
                return Text($":lock: {Escape(reply.Text)} Opening a private war room; you will be invited.", "ephemeral");
            case ReplyKind.Refused when reply.Incident is { } pointer && WarRoomSuffix(pointer) is { Length: > 0 } rooms:
                return Text($"{Escape(reply.Text)} War room{rooms}", "ephemeral");
            case ReplyKind.Declared when reply.Incident is { } declared:
                return Text($":rotating_light: {Escape(reply.Text)} Opening a war room…", "in_channel") with
                {
                    Blocks = Limit([Section($":rotating_light: *{declared.Number}* declared ({declared.Severity.ToLabel()}): {Escape(declared.Title)}\nOpening a war room…")]),
                };
            case ReplyKind.Changed:
                return Text(Escape(reply.Text), inWarRoom ? "ephemeral" : "in_channel");
            case ReplyKind.List:
                var list = new List<JsonObject> { Section($"*{Escape(reply.Text)}*") };
                list.AddRange(reply.Incidents.Select(i => Section($"*{i.Number}* · {i.Severity.ToLabel()} · {i.Status.ToToken()} · {Escape(i.Title)}{WarRoomSuffix(i)}")));
                return Text(reply.Text, "ephemeral") with { Blocks = Limit(list, what: "incidents") };
            case ReplyKind.Timeline:
                return Text(reply.Text, "ephemeral") with { Blocks = Timeline(reply) };
            default:
                return Text(reply.Text, "ephemeral");
        }
    }

    /// <summary>Where the draft lives: the dashboard page and Markdown, or Core's hint without a public dashboard address.</summary>
    public static SlackMessage Postmortem(IncidentNumber number, Uri? page, Uri? markdown, string fallback)
    {
        if (page is null)
        {
            var hint = $":memo: {Escape(fallback)}";
            return new SlackMessage(Truncate(fallback, MaxMessageText), Limit([Section(hint)]));
        }

        var links = $"<{Escape(page.AbsoluteUri)}|Open it on the dashboard>" + (markdown is null ? "" : $" · <{Escape(markdown.AbsoluteUri)}|Markdown>");
        var text = markdown is null
            ? $"Postmortem draft for {number}: {page.AbsoluteUri}"
            : $"Postmortem draft for {number}: {page.AbsoluteUri} (Markdown: {markdown.AbsoluteUri})";
        return new SlackMessage(Truncate(text, MaxMessageText), Limit([Section($":memo: *Postmortem draft for {number}*\n{links}")]));
    }

    /// <summary>The timeline, oldest first, one section per entry; a long one keeps the newest entries.</summary>
    public static JsonArray Timeline(CommandReply reply)
    {
        var blocks = new List<JsonObject> { Header(reply.Incident is { } incident ? $"Timeline of {incident.Number}" : "Timeline") };
        var entries = reply.Timeline;
        var room = MaxTimelineBlocks - 2;
        if (entries.Count > room)
        {
            blocks.Add(Context($"… {entries.Count - room} earlier entries not shown; the full timeline is in the dashboard and the API."));
            entries = entries.Skip(entries.Count - room).ToList();
        }

        blocks.AddRange(entries.Select(e =>
            Section($"{(e.Pinned ? ":pushpin: " : "")}`{e.OccurredAt.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)}` *{Escape(e.Author?.DisplayName ?? "IncidentBot")}* ({e.Kind.ToString().ToLowerInvariant()}): {Escape(e.Text)}")));
        return Limit(blocks);
    }

    /// <summary>The war-room post for an incident event, or null when the event needs none.</summary>
    public static SlackMessage? EventPost(IncidentEvent incidentEvent) =>
        incidentEvent is UpdateReminderDue due ? Reminder(due) : WarRoomNotices.For(incidentEvent) is { } notice ? Notice(notice) : null;

    /// <summary>Core's notice in mrkdwn: an emoji for its topic, people mentioned, the news in bold, times in the reader's zone.</summary>
    public static SlackMessage Notice(WarRoomNotice notice)
    {
        var text = new StringBuilder(TopicEmoji(notice.Topic)).Append(' ');
        foreach (var part in notice.Parts)
        {
            text.Append(part switch
            {
                NoticeStrong strong => $"*{Escape(strong.Text)}*",
                NoticePerson { Person: null } => WarRoomNotices.BotName,
                NoticePerson person => Mention(person.Person),
                NoticeTime time => Date(time.At),
                NoticeCommand command => $"`{SlackIds.CommandTrigger}{Escape(command.Command)}`",
                NoticeQuote quote => "\n" + Escape(quote.Text),
                NoticeText plain => Escape(plain.Text),
                _ => "",
            });
        }

        var mrkdwn = text.ToString();
        return new SlackMessage(Truncate(mrkdwn, MaxMessageText), Limit([Section(mrkdwn)]));
    }

    private static string TopicEmoji(NoticeTopic topic) => topic switch
    {
        NoticeTopic.Role => ":busts_in_silhouette:",
        NoticeTopic.Severity or NoticeTopic.Escalation => ":rotating_light:",
        NoticeTopic.Status => ":arrows_counterclockwise:",
        NoticeTopic.Update => ":mega:",
        NoticeTopic.Acknowledged => ":eyes:",
        NoticeTopic.Resolved => ":white_check_mark:",
        NoticeTopic.Reopened => ":leftwards_arrow_with_hook:",
        NoticeTopic.Page => ":pager:",
        NoticeTopic.Snooze => ":zzz:",
        NoticeTopic.ActionItem => ":ballot_box_with_check:",
        NoticeTopic.Declared => ":rotating_light:",
        NoticeTopic.Private => ":lock:",
        _ => ":warning:",
    };

    /// <summary>
    /// The overdue-update reminder: the IC and comms lead @mentioned (Slack notifies them; people from Teams are named),
    /// and a "Post update" button that opens the update form, like the card's.
    /// </summary>
    public static SlackMessage Reminder(UpdateReminderDue due)
    {
        var whom = new[] { due.Commander, due.Comms }.OfType<Person>().DistinctBy(p => (p.Platform, p.UserId)).Select(Mention).ToList();
        var missed = due.Missed > 1 ? $" ({due.Missed} missed)" : "";
        var ask = whom.Count == 0 ? "Please post one" : $"{string.Join(" ", whom)}, please post one";
        var text = $":alarm_clock: A status update for {due.Number} is due{missed}. {ask}: use the button or `{SlackIds.CommandTrigger}update <text>`.";
        return new SlackMessage(
            Truncate(text, MaxMessageText),
            Limit([Section(text), Actions($"reminder:{due.Number}", [Button("Post update", SlackIds.PostUpdateAction, due.Number.ToString(), "primary")])]));
    }

    /// <summary>Core's announcement in mrkdwn; a public incident's also links its war room (a private one's never does).</summary>
    public static SlackMessage Announcement(WarRoomNotice announcement, string? channelId)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        var mrkdwn = Notice(announcement).Text + (channelId is null ? "" : $"\nWar room: <#{channelId}>");
        return new SlackMessage(Truncate(announcement.ToString(), MaxMessageText), Limit([Section(mrkdwn)]));
    }

    public static JsonObject DeclareModal(string? originChannel, bool isPrivate = false)
    {
        var privateOption = Option("Private: a private channel for the people named, no title outside", PrivateValue);
        var severities = Enum.GetValues<Severity>().Select(s => Option(s.ToLabel(), s.ToLabel())).ToList();
        var blocks = new List<JsonObject>
        {
            Input("title", "Title", new JsonObject { ["type"] = "plain_text_input", ["action_id"] = "value", ["max_length"] = 200 }),
            Input("severity", "Severity", StaticSelect("value", "Severity", severities, Option(CommandDispatcher.DefaultSeverity.ToLabel(), CommandDispatcher.DefaultSeverity.ToLabel()))),
            Input("description", "Description", new JsonObject { ["type"] = "plain_text_input", ["action_id"] = "value", ["multiline"] = true, ["max_length"] = 3000 }, optional: true),
            Input("commander", "Incident commander", UsersSelect("value", "Who leads the response?"), optional: true),
            Input("responders", "Responders", new JsonObject { ["type"] = "multi_users_select", ["action_id"] = "value", ["placeholder"] = PlainText("Who should join the war room?", MaxPlaceholder) }, optional: true),
            Input(PrivateBlock, "Visibility", Checkboxes("value", [privateOption], isPrivate ? [privateOption] : []), optional: true),
        };
        return View(SlackIds.DeclareView, "Declare incident", "Declare", blocks, originChannel ?? "");
    }

    /// <summary>The update form; it remembers the channel it was opened from, which decides whether the update may be posted.</summary>
    public static JsonObject UpdateModal(IncidentNumber number, string? channel) =>
        View(SlackIds.UpdateView, $"Update {number}", "Post", [
            Input("update", "Status update", new JsonObject { ["type"] = "plain_text_input", ["action_id"] = "value", ["multiline"] = true, ["max_length"] = 3000 }),
        ], channel is null ? number.ToString() : $"{number} {channel}");

    /// <summary>The declare modal's "Private" checkbox: its block and the value of its one option.</summary>
    public const string PrivateBlock = "private";

    public const string PrivateValue = "private";

    private static JsonObject View(string callbackId, string title, string submit, IReadOnlyList<JsonObject> blocks, string metadata) => new()
    {
        ["type"] = "modal",
        ["callback_id"] = callbackId,
        ["title"] = PlainText(title, MaxViewTitle),
        ["submit"] = PlainText(submit, MaxViewTitle),
        ["close"] = PlainText("Cancel", MaxViewTitle),
        ["private_metadata"] = Truncate(metadata, MaxPrivateMetadata),
        ["blocks"] = Limit(blocks, MaxViewBlocks),
    };

    private static SlackMessage Text(string text, string responseType) =>
        new(Truncate(text.Length == 0 ? " " : text, MaxMessageText)) { ResponseType = responseType };

    private static string WarRoomSuffix(Incident incident)
    {
        var rooms = incident.WarRooms.Where(r => r.Platform == SlackIds.Platform).Select(r => $"<#{r.Channel}>").ToList();
        if (rooms.Count == 0)
        {
            return "";
        }

        var text = new StringBuilder(" · ");
        text.AppendJoin(' ', rooms);
        return text.ToString();
    }
}
