using IncidentBot.Storage;

namespace IncidentBot.Slack.State;

/// <summary>
/// The Slack front-end's tables (<c>Migrations/&lt;Provider&gt;</c> in this project): event receipts, war-room progress,
/// cards; and how the retention pruner ages them out.
/// </summary>
public static class SlackTables
{
    public static TableSet Set { get; } = new(
        "slack",
        typeof(SlackTables).Assembly,
        new RetentionRule("slack_event_receipts", RetentionAge.Receipts, """
            DELETE FROM slack_event_receipts WHERE event_id IN (
                SELECT event_id FROM slack_event_receipts WHERE received_at < @Before LIMIT @Batch)
            """));
}
