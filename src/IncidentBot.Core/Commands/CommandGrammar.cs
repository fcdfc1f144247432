namespace IncidentBot.Core.Commands;

/// <summary>The verbs and their usage lines; the help text and every usage error come from here.</summary>
public static class CommandGrammar
{
    public sealed record Verb(string Name, string Usage, string Summary, bool TakesIncident = true);

    public static IReadOnlyList<Verb> Verbs { get; } =
    [
        new("declare", "declare [private] [sev1-4] <title>", "declare an incident (no title opens the form; private: seen only in its war room)", TakesIncident: false),
        new("role", "role <ic|lead|comms|scribe> <@user|me>", "assign or hand off a role"),
        new("sev", "sev <1-4>", "change severity"),
        new("status", "status <investigating|identified|monitoring|resolved>", "move through the lifecycle"),
        new("update", "update <text>", "post a status update"),
        new("note", "note <text>", "add a timeline note"),
        new("ack", "ack", "acknowledge (stops escalation)"),
        new("page", "page [<level>|@user]", "page now"),
        new("snooze", "snooze <minutes>", "postpone the next update reminder"),
        new("action", "action <text> [@owner]", "record a follow-up action item"),
        new("resolve", "resolve [summary]", "resolve the incident"),
        new("reopen", "reopen", "reopen a resolved incident"),
        new("private", "private", "make the incident private from now on"),
        new("timeline", "timeline", "show the timeline"),
        new("postmortem", "postmortem", "produce the postmortem draft"),
        new("bridge", "bridge", "(re)create the incident's meeting bridge"),
        new("link", "link <INC-N>", "make this conversation a war room of that incident", TakesIncident: false),
        new("list", "list", "open incidents", TakesIncident: false),
        new("help", "help", "this help", TakesIncident: false),
    ];

    public static Verb? Find(string name) =>
        Verbs.FirstOrDefault(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Usage of one verb, prefixed with the front-end's trigger (e.g. "/incident ").</summary>
    public static string UsageOf(string verb, string trigger) =>
        Find(verb) is { } v ? $"Usage: `{trigger}{v.Usage}`" : HelpText(trigger);

    public static string HelpText(string trigger)
    {
        var lines = Verbs.Select(v => $"• `{trigger}{v.Usage}` — {v.Summary}");
        return "Incident commands:\n" + string.Join('\n', lines) +
            $"\nIn a war room commands act on its incident; elsewhere name it first: `{trigger}status INC-42 resolved`.";
    }
}
