using System.Globalization;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Meetings;
using static IncidentBot.Teams.Cards.CardElements;

namespace IncidentBot.Teams.Cards;

/// <summary>The verbs of the incident card's <c>Action.Execute</c> buttons (also sent as <c>verb</c> in Action.Submit data).</summary>
public static class CardVerbs
{
    public const string Acknowledge = "ack";
    public const string Resolve = "resolve";
    public const string Severity = "severity";
    public const string Status = "status";
    public const string Update = "update";

    /// <summary>"Post update" on the overdue-update reminder: posts like <see cref="Update"/>, answered with the reminder marked done.</summary>
    public const string ReminderUpdate = "reminderUpdate";
    public const string AssignRole = "assignRole";
    public const string Declare = "declare";
    public const string Refresh = "refresh";
    public const string Postmortem = "postmortem";
}

/// <summary>Adaptive Cards 1.5 for Teams: the incident card, the overdue-update reminder and the declare form.</summary>
public static class IncidentCards
{
    public const string ContentType = "application/vnd.microsoft.card.adaptive";
    public const string Version = "1.5";

    /// <summary>The incident card: state, roles, the escalation (who was paged, acknowledged, next) and the actions that change them.</summary>
    public static JsonObject Incident(Incident incident, EscalationState? escalation = null, BridgeMeeting? bridge = null)
    {
        var number = incident.Number.ToString();
        var body = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = $"{number} · {incident.Severity.ToLabel()} · {incident.Status.ToToken()}",
                ["weight"] = "Bolder",
                ["color"] = incident.IsResolved ? "Good" : incident.Severity <= Severity.Sev2 ? "Attention" : "Warning",
            },
            new JsonObject { ["type"] = "TextBlock", ["text"] = incident.Title, ["size"] = "Large", ["wrap"] = true },
            Facts(incident),
        };
        if (incident.Summary is { Length: > 0 } summary)
        {
            body.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = $"Summary: {summary}", ["wrap"] = true });
        }

        if (escalation is { IsEmpty: false } || escalation?.Acknowledged is not null)
        {
            AddEscalation(body, escalation);
        }

        if (bridge is { Created: false })
        {
            body.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = $"Bridge could not be created: {bridge.Failure}", ["color"] = "Attention", ["wrap"] = true });
        }

        var actions = new JsonArray();
        if (!incident.IsResolved)
        {
            if (incident.AcknowledgedAt is null)
            {
                actions.Add(Execute("Acknowledge", CardVerbs.Acknowledge, number));
            }

            actions.Add(ShowCard("Update", [
                new JsonObject { ["type"] = "Input.Text", ["id"] = "text", ["label"] = "Status update", ["isMultiline"] = true, ["isRequired"] = true, ["errorMessage"] = "Write the update", ["maxLength"] = 4000 },
            ], Execute("Post update", CardVerbs.Update, number)));
            // Teams shows at most five top-level actions, so severity and status share one panel.
            actions.Add(ShowCard("Severity & status", [
                Choices("severity", "Severity", incident.Severity.ToLabel().ToLowerInvariant(),
                    Enum.GetValues<Severity>().Select(s => (s.ToLabel(), s.ToLabel().ToLowerInvariant()))),
                Choices("status", "Status", incident.Status.ToToken(),
                    Enum.GetValues<IncidentStatus>().Where(s => s != IncidentStatus.Resolved).Select(s => (s.ToToken(), s.ToToken()))),
            ], Execute("Set severity", CardVerbs.Severity, number), Execute("Set status", CardVerbs.Status, number)));
            actions.Add(ShowCard("Roles", [
                Choices("role", "Role", IncidentRole.Commander.ToToken(), IncidentRoleText.All.Select(r => (r.ToTitle(), r.ToToken()))),
                PeoplePicker("user", "Person"),
            ], Execute("Assign", CardVerbs.AssignRole, number)));
            actions.Add(ShowCard("Resolve", [
                new JsonObject { ["type"] = "Input.Text", ["id"] = "summary", ["label"] = "Summary (optional)", ["isMultiline"] = true, ["maxLength"] = 4000 },
            ], Execute("Resolve", CardVerbs.Resolve, number)));
        }

        // Its own row: a live incident's set already holds the five actions Teams shows side by side.
        var more = new JsonArray();
        if (bridge is { Created: true, JoinUrl: { } joinUrl })
        {
            more.Add(new JsonObject { ["type"] = "Action.OpenUrl", ["title"] = "Join bridge", ["url"] = joinUrl });
        }

        more.Add(Execute("Postmortem draft", CardVerbs.Postmortem, number));
        return Card(body, actions, more);
    }

    /// <summary>
    /// The overdue-update reminder: the IC and comms lead @mentioned (<c>&lt;at&gt;</c> text and <c>mention</c> entities,
    /// which notify them; people assigned from Slack cannot be mentioned in Teams, so they are named), a text input and a
    /// "Post update" button that posts the update.
    /// </summary>
    public static JsonObject Reminder(UpdateReminderDue due)
    {
        var number = due.Number.ToString();
        var people = new[] { due.Commander, due.Comms }.OfType<Person>().DistinctBy(p => (p.Platform, p.UserId)).ToList();
        var mentioned = people.Where(p => p.Platform == TeamsIds.Platform).ToList();
        var names = people.Select(p => p.Platform == TeamsIds.Platform ? MentionText(p) : p.DisplayName).ToList();
        var missed = due.Missed > 1 ? $", {due.Missed} reminders missed" : "";
        var body = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = $"⏰ {number}: a status update is overdue (due {due.DueAt.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)} UTC{missed})",
                ["weight"] = "Bolder",
                ["color"] = "Attention",
                ["wrap"] = true,
            },
            new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = names.Count == 0 ? "Please post one here." : $"{string.Join(", ", names)}: please post one here.",
                ["wrap"] = true,
            },
            new JsonObject { ["type"] = "Input.Text", ["id"] = "text", ["label"] = "Status update", ["isMultiline"] = true, ["isRequired"] = true, ["errorMessage"] = "Write the update", ["maxLength"] = 4000 },
        };
        var card = Card(body, [Execute("Post update", CardVerbs.ReminderUpdate, number)]);
        if (mentioned.Count > 0)
        {
            card["msteams"]!["entities"] = new JsonArray(mentioned.Select(p => (JsonNode)new JsonObject
            {
                ["type"] = "mention",
                ["text"] = MentionText(p),
                ["mentioned"] = new JsonObject { ["id"] = p.UserId, ["name"] = p.DisplayName },
            }).ToArray());
        }

        return card;
    }

    /// <summary>What replaces the reminder for whoever posted the update from it.</summary>
    public static JsonObject ReminderAnswered(Incident incident, string postedBy) => Card(
    [
        new JsonObject
        {
            ["type"] = "TextBlock",
            ["text"] = $"✅ {incident.Number}: status update posted by {postedBy}" +
                (incident.NextUpdateDueAt is { } next ? $"; the next one is due at {next.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)} UTC." : "."),
            ["wrap"] = true,
        },
    ]);

    private static string MentionText(Person person) => $"<at>{person.DisplayName}</at>";

    /// <summary>
    /// What <c>declare</c> without a title answers, like Slack's declare modal: title, severity, description, commander and
    /// responders (people pickers). Shown again with <paramref name="error"/> and the values as submitted when they are not valid.
    /// </summary>
    public static JsonObject DeclareForm(DeclareFormValues? values = null, string? error = null)
    {
        values ??= DeclareFormValues.Empty;
        var body = new JsonArray
        {
            new JsonObject { ["type"] = "TextBlock", ["text"] = "Declare an incident", ["weight"] = "Bolder", ["size"] = "Medium" },
        };
        if (error is not null)
        {
            body.Add(Text($"⚠️ {error}", "Attention"));
        }

        var severity = SeverityText.TryParse(values.Severity, out var picked) ? picked : Core.Commands.CommandDispatcher.DefaultSeverity;
        body.Add(TextInput("title", "Title", IncidentService.MaxTitleLength, values.Title, requiredMessage: "Give the incident a title"));
        body.Add(Choices("severity", "Severity", severity.ToLabel().ToLowerInvariant(), Enum.GetValues<Severity>().Select(s => (s.ToLabel(), s.ToLabel().ToLowerInvariant()))));
        body.Add(TextInput("description", "Description (optional)", IncidentService.MaxTextLength, values.Description, multiline: true));
        body.Add(PeoplePicker("commander", "Incident commander (optional)", required: false, value: values.Commander));
        body.Add(PeoplePicker("responders", "Responders (optional)", required: false, multiSelect: true, value: values.ResponderList));
        body.Add(new JsonObject
        {
            ["type"] = "Input.Toggle",
            ["id"] = "private",
            ["label"] = "Visibility",
            ["title"] = "Private: a group chat of the people named, no title outside",
            ["valueOn"] = "true",
            ["valueOff"] = "false",
            ["value"] = values.Private ? "true" : "false",
        });
        return Card(body, [Execute("Declare", CardVerbs.Declare, null)]);
    }

    /// <summary>What replaces a submitted declare form of a private incident: the answer, without title or people.</summary>
    public static JsonObject PrivateDeclared(string text) => Card([Text(text)]);

    /// <summary>The latest pages as facts (level and target: alert key, outcome, when), then the ack and the next level.</summary>
    private static void AddEscalation(JsonArray body, EscalationState escalation)
    {
        body.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = "Escalation", ["weight"] = "Bolder", ["separator"] = true });
        if (escalation.Pages.Count > 0)
        {
            var facts = new JsonArray();
            foreach (var page in escalation.Pages)
            {
                var level = page.Level == 0 ? "Person" : $"Level {page.Level.ToString(CultureInfo.InvariantCulture)}";
                facts.Add(Fact($"{level} · {page.Target}", $"{page.Key} · {page.Status} {Format(page.At)}"));
            }

            if (escalation.TotalPages > escalation.Pages.Count)
            {
                facts.Add(Fact("Earlier", $"{(escalation.TotalPages - escalation.Pages.Count).ToString(CultureInfo.InvariantCulture)} page(s)"));
            }

            body.Add(new JsonObject { ["type"] = "FactSet", ["facts"] = facts });
        }

        if (escalation.Acknowledged is { } acknowledged)
        {
            body.Add(new JsonObject { ["type"] = "TextBlock", ["text"] = $"✅ {acknowledged}", ["wrap"] = true });
        }

        if (escalation.Next is { } next)
        {
            body.Add(new JsonObject
            {
                ["type"] = "TextBlock",
                ["text"] = $"⏳ Next: level {next.Level.ToString(CultureInfo.InvariantCulture)} ({string.Join(", ", next.Targets)}) at {Format(next.At)}",
                ["wrap"] = true,
            });
        }
    }

    private static JsonObject Facts(Incident incident)
    {
        var facts = new JsonArray();
        foreach (var role in IncidentRoleText.All)
        {
            facts.Add(Fact(role.ToTitle(), incident.RoleHolder(role)?.DisplayName ?? "—"));
        }

        facts.Add(Fact("Declared", $"{Format(incident.DeclaredAt)} by {incident.DeclaredBy.DisplayName}"));
        if (incident.AcknowledgedAt is { } ack)
        {
            facts.Add(Fact("Acknowledged", Format(ack)));
        }

        if (incident.ResolvedAt is { } resolved)
        {
            facts.Add(Fact("Resolved", Format(resolved)));
        }
        else if (incident.NextUpdateDueAt is { } due)
        {
            facts.Add(Fact("Next update due", Format(due)));
        }

        return new JsonObject { ["type"] = "FactSet", ["facts"] = facts };
    }

    private static JsonObject Fact(string title, string value) => new() { ["title"] = title, ["value"] = value };

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
