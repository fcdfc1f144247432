using IncidentBot.Storage;

namespace IncidentBot.Slack.State;

/// <summary>
/// The Slack front-end's tables (<c>Migrations/&lt;Provider&gt;</c> in this project): war-room progress, cards; and how
/// the retention pruner ages them and the Slack events in the shared inbound receipts out.
/// </summary>
public static class SlackTables
{
    public static TableSet Set { get; } = new(
        "slack",
        typeof(SlackTables).Assembly,
        InboundReceipts.RetentionFor(EventReceipts, RetentionAge.Receipts));

    /// <summary>The source of Slack's event receipts in <see cref="InboundReceipts"/>: Events API <c>event_id</c>s handled.</summary>
    public const string EventReceipts = "slack-events";
}
