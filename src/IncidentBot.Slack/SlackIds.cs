namespace IncidentBot.Slack;

/// <summary>
/// Every id the Slack app manifest must agree with: the command, shortcut, view and action ids, the
/// events we subscribe to and the bot scopes the code needs. A test checks manifests/slack against these.
/// </summary>
public static class SlackIds
{
    public const string Platform = "slack";

    public const string CommandsPath = "/slack/commands";
    public const string InteractionsPath = "/slack/interactions";
    public const string EventsPath = "/slack/events";
    public const string OptionsPath = "/slack/options";

    public const string Command = "/incident";
    public const string CommandTrigger = "/incident ";

    /// <summary>Message shortcut "Add to incident timeline".</summary>
    public const string AddToTimelineShortcut = "add_to_incident_timeline";

    public const string DeclareView = "incident_declare";
    public const string UpdateView = "incident_update";

    public const string ActionPrefix = "incident_";
    public const string RoleActionPrefix = "incident_role_";
    public const string SeverityAction = "incident_severity";
    public const string StatusAction = "incident_status";
    public const string AcknowledgeAction = "incident_ack";
    public const string ResolveAction = "incident_resolve";
    public const string PostUpdateAction = "incident_post_update";
    public const string PostmortemAction = "incident_postmortem";

    /// <summary>Block id prefix of the card's action blocks; the incident number follows.</summary>
    public const string CardBlockPrefix = "card:";

    public static IReadOnlyList<string> BotEvents { get; } =
    [
        "app_mention",
        "message.channels",
        "message.groups",
        "reaction_added",
        "reaction_removed",
    ];

    /// <summary>Scopes and the calls that need them.</summary>
    public static IReadOnlyDictionary<string, string> BotScopes { get; } = new Dictionary<string, string>
    {
        ["app_mentions:read"] = "app_mention events",
        ["channels:history"] = "message.channels events, conversations.history",
        ["channels:join"] = "conversations.join",
        ["channels:manage"] = "conversations.create/invite/setTopic/setPurpose/archive (public)",
        ["channels:read"] = "conversations.list",
        ["chat:write"] = "chat.postMessage/update",
        ["commands"] = "/incident and the message shortcut",
        ["files:write"] = "files.getUploadURLExternal/completeUploadExternal (the postmortem draft as a Markdown file)",
        ["groups:history"] = "message.groups events",
        ["groups:read"] = "conversations.list (private)",
        ["groups:write"] = "conversations.* on private channels",
        ["reactions:read"] = "reaction_added/removed events",
        ["reactions:write"] = "reactions.add (pin confirmation)",
    };
}
