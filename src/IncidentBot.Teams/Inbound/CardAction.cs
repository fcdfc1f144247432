using System.Text.Json;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;

using static IncidentBot.Teams.Inbound.JsonFields;

namespace IncidentBot.Teams.Inbound;

/// <summary>
/// What a card button asked for, read from its data (<c>{"verb":"ack","incident":"INC-42", …inputs}</c>; the incident
/// may also be a plain number). Every input is checked here, so handlers call typed <c>IncidentService</c> methods.
/// </summary>
public abstract record CardAction
{
    public sealed record Acknowledge(IncidentNumber Incident) : CardAction;

    public sealed record Resolve(IncidentNumber Incident, string? Summary) : CardAction;

    public sealed record SetSeverity(IncidentNumber Incident, Severity Severity) : CardAction;

    public sealed record SetStatus(IncidentNumber Incident, IncidentStatus Status) : CardAction;

    /// <param name="FromReminder">Posted from the overdue-update reminder, which is answered with the reminder marked done.</param>
    public sealed record PostUpdate(IncidentNumber Incident, string Text, bool FromReminder) : CardAction;

    /// <param name="UserId">The people picker's Entra object id.</param>
    public sealed record AssignRole(IncidentNumber Incident, IncidentRole Role, string UserId) : CardAction;

    public sealed record ShowPostmortem(IncidentNumber Incident) : CardAction;

    public sealed record Refresh(IncidentNumber Incident) : CardAction;

    /// <summary>The declare form as submitted; checked by its handler, which shows the form again with the error.</summary>
    public sealed record Declare(DeclareFormValues Values) : CardAction;

    /// <summary>Reads the action, or says in <paramref name="error"/> (shown to the user) why it cannot be done.</summary>
    public static bool TryRead(string? verb, JsonElement data, out CardAction? action, out string error)
    {
        action = null;
        error = "";
        if (verb == CardVerbs.Declare)
        {
            action = new Declare(new DeclareFormValues(
                Str(data, "title"), Str(data, "severity"), Str(data, "description"), Str(data, "commander"), Ids(Str(data, "responders")))
            {
                Private = string.Equals(Str(data, "private"), "true", StringComparison.OrdinalIgnoreCase),
            });
            return true;
        }

        if (verb is null || !Verbs.Contains(verb))
        {
            error = verb is null ? "That card action has no verb." : $"Unknown card action '{verb}'.";
            return false;
        }

        if (!IncidentNumber.TryParse(Str(data, "incident"), out var number))
        {
            error = "That card action does not name an incident.";
            return false;
        }

        action = verb switch
        {
            CardVerbs.Acknowledge => new Acknowledge(number),
            CardVerbs.Resolve => new Resolve(number, Str(data, "summary")),
            CardVerbs.Update or CardVerbs.ReminderUpdate => new PostUpdate(number, Str(data, "text") ?? "", verb == CardVerbs.ReminderUpdate),
            CardVerbs.Postmortem => new ShowPostmortem(number),
            CardVerbs.Refresh => new Refresh(number),
            CardVerbs.Severity when SeverityText.TryParse(Str(data, "severity"), out var severity) => new SetSeverity(number, severity),
            CardVerbs.Status when IncidentStatusText.TryParse(Str(data, "status"), out var status) => new SetStatus(number, status),
            CardVerbs.AssignRole when IncidentRoleText.TryParse(Str(data, "role"), out var role) && Ids(Str(data, "user")) is [var user, ..] =>
                new AssignRole(number, role, user),
            _ => null,
        };
        error = action is not null ? "" : verb switch
        {
            CardVerbs.Severity => $"Unknown severity '{Str(data, "severity")}'; pick SEV1 to SEV4.",
            CardVerbs.Status => $"Unknown status '{Str(data, "status")}'.",
            _ when !IncidentRoleText.TryParse(Str(data, "role"), out _) => $"Unknown role '{Str(data, "role")}'.",
            _ => "Pick a person for the role.",
        };
        return action is not null;
    }

    private static readonly HashSet<string> Verbs = new(StringComparer.Ordinal)
    {
        CardVerbs.Acknowledge, CardVerbs.Resolve, CardVerbs.Severity, CardVerbs.Status, CardVerbs.Update,
        CardVerbs.ReminderUpdate, CardVerbs.AssignRole, CardVerbs.Refresh, CardVerbs.Postmortem,
    };

    /// <summary>A people picker's value: Entra object ids, comma-separated when it allows several.</summary>
    private static List<string> Ids(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
}

/// <summary>The declare form's fields as submitted (raw, so the form can be shown again as it was).</summary>
public sealed record DeclareFormValues(string? Title, string? Severity, string? Description, string? Commander, IReadOnlyList<string> Responders)
{
    public static DeclareFormValues Empty { get; } = new(null, null, null, null, []);

    /// <summary>The form's "Private" toggle: a group chat of the people named, no title outside.</summary>
    public bool Private { get; init; }

    /// <summary>The responders as the people picker's value.</summary>
    public string ResponderList => string.Join(',', Responders);
}
