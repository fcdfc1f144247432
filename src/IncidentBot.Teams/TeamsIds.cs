using IncidentBot.Teams.Graph;

namespace IncidentBot.Teams;

/// <summary>
/// Every id the Teams app manifest and the Bot Connector must agree with: the platform name, the messaging endpoint,
/// the mention trigger, the message action, the invoke and event names we handle, and the shapes of Teams ids.
/// </summary>
public static class TeamsIds
{
    public const string Platform = "teams";

    public const string MessagesPath = "/api/messages";

    public const string Trigger = "@IncidentBot ";

    /// <summary>The message action "Add to incident timeline" (<c>composeExtensions</c> in the manifest).</summary>
    public const string AddToTimelineCommandId = "addToTimeline";

    /// <summary>Action.Execute on an Adaptive Card (Universal Actions).</summary>
    public const string CardActionInvoke = "adaptiveCard/action";
    public const string MessageActionSubmitInvoke = "composeExtension/submitAction";
    public const string MessageActionFetchInvoke = "composeExtension/fetchTask";

    public const string MeetingStartEvent = "application/vnd.microsoft.meetingStart";
    public const string MeetingEndEvent = "application/vnd.microsoft.meetingEnd";
    public const string MeetingJoinEvent = "application/vnd.microsoft.meetingParticipantJoin";
    public const string MeetingLeaveEvent = "application/vnd.microsoft.meetingParticipantLeave";

    /// <summary>
    /// The app's resource-specific permissions as <c>manifests/teams/manifest.json</c> lists them (a test holds them equal):
    /// consented to when the bot installs itself into a private incident's chat, as Graph requires for an app that has them.
    /// </summary>
    public static IReadOnlyList<ResourceSpecificPermission> ResourceSpecificPermissions { get; } =
    [
        new("ChannelMessage.Read.Group", "Application"),
        new("ChatMessage.Read.Chat", "Application"),
        new("OnlineMeeting.ReadBasic.Chat", "Application"),
        new("ChannelMeeting.ReadBasic.Group", "Application"),
        new("OnlineMeetingParticipant.Read.Chat", "Application"),
        new("Channel.Create.Group", "Application"),
    ];

    /// <summary>A post in a channel is its own conversation: <c>19:…@thread.tacv2;messageid=…</c>.</summary>
    public const string ThreadSeparator = ";messageid=";

    /// <summary>The channel a channel-thread conversation id belongs to, or null when it is not a thread.</summary>
    public static string? ChannelOfThread(string conversationId)
    {
        var at = conversationId.IndexOf(ThreadSeparator, StringComparison.Ordinal);
        return at > 0 ? conversationId[..at] : null;
    }
}
