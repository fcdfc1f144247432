using IncidentBot.Storage;

namespace IncidentBot.Teams.Storage;

/// <summary>
/// The Teams front-end's tables (<c>Migrations/&lt;Provider&gt;</c> in this project): conversation references, cards; and
/// how the retention pruner ages them and the Teams activities in the shared inbound receipts out.
/// </summary>
public static class TeamsTables
{
    public static TableSet Set { get; } = new(
        "teams",
        typeof(TeamsTables).Assembly,
        InboundReceipts.RetentionFor(ActivityReceipts, RetentionAge.Receipts),
        // A conversation reference is how the bot reaches a conversation unprompted. One that is a war room (or holds an
        // incident card) is kept for good, since even a resolved incident may be reopened; any other is saved again by
        // the next activity from it, so one unused for the retention age can go.
        new RetentionRule("teams_conversations", RetentionAge.Finished, """
            DELETE FROM teams_conversations WHERE conversation_id IN (
                SELECT c.conversation_id FROM teams_conversations c
                WHERE c.updated_at < @Before
                  AND NOT EXISTS (SELECT 1 FROM war_rooms w WHERE w.platform = 'teams' AND w.channel = c.conversation_id)
                  AND NOT EXISTS (SELECT 1 FROM teams_cards t WHERE t.conversation_id = c.conversation_id)
                LIMIT @Batch)
            """));

    /// <summary>The source of Teams' activity receipts in <see cref="InboundReceipts"/>: conversation and activity id.</summary>
    public const string ActivityReceipts = "teams-activities";
}
