using System.Text.Json;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static IncidentBot.Slack.WebApi.SlackApiClient;

namespace IncidentBot.Slack.Outbound;

/// <summary>
/// Reads back what people said in a channel before its link to the incident was stored — in a new war room between
/// Slack creating it and the link, in a channel linked with <c>link INC-N</c>, in one adopted after a crash — and
/// captures it as if it had been heard live: deduplicated by the message's ts, thread replies included, a 📌 reaction
/// pinning. Bounded: what people said since the incident was declared (with a minute's allowance for clock skew), at
/// most <see cref="SlackOptions.BackfillLimit"/> messages, the newest; bots' posts and joins do not count.
/// </summary>
public sealed partial class WarRoomBackfill(
    ISlackApi slack,
    IncidentService incidents,
    IIncidentStore store,
    SlackUserDirectory users,
    SlackBotIdentity identity,
    IOptions<SlackOptions> options,
    ILogger<WarRoomBackfill> logger)
{
    private const int PageSize = 200;
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>Captures what was said in <paramref name="channel"/> (already linked to <paramref name="incident"/>); returns how many messages were new.</summary>
    public async Task<int> BackfillAsync(Incident incident, string channel, CancellationToken cancellationToken)
    {
        var budget = new Budget(options.Value.BackfillLimit);
        if (budget.Spent)
        {
            return 0;
        }

        var bots = new HashSet<string>(StringComparer.Ordinal) { (await identity.GetAsync(slack, cancellationToken)).UserId };
        var oldest = SlackTs.Format(incident.DeclaredAt - ClockSkew);
        string? cursor = null;
        do
        {
            var page = await slack.GetHistoryAsync(channel, oldest, cursor, PageSize, cancellationToken);
            foreach (var message in page.Messages.TakeWhile(_ => !budget.Spent))
            {
                await CaptureAsync(channel, message, bots, budget, cancellationToken);
                if (message.TryGetProperty("reply_count", out var replies) && replies.TryGetInt32(out var count) && count > 0 && Str(message, "ts") is { } threadTs)
                {
                    await CaptureThreadAsync(channel, threadTs, oldest, bots, budget, cancellationToken);
                }
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null && !budget.Spent);

        LogBackfilled(logger, incident.Number, channel, budget.Read, budget.Captured);
        if (budget.Spent)
        {
            LogLimitReached(logger, incident.Number, channel, budget.Limit);
        }

        return budget.Captured;
    }

    private async Task CaptureThreadAsync(string channel, string threadTs, string oldest, IReadOnlySet<string> bots, Budget budget, CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await slack.GetRepliesAsync(channel, threadTs, oldest, cursor, PageSize, cancellationToken);
            foreach (var reply in page.Messages.Where(m => Str(m, "ts") != threadTs).TakeWhile(_ => !budget.Spent))
            {
                await CaptureAsync(channel, reply, bots, budget, cancellationToken);
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null && !budget.Spent);
    }

    private async Task CaptureAsync(string channel, JsonElement message, IReadOnlySet<string> bots, Budget budget, CancellationToken cancellationToken)
    {
        if (!SlackMessages.IsPersonTalking(message, bots, out var user, out var ts) || !SlackTs.TryParse(ts, out var postedAt))
        {
            return;
        }

        budget.Read++;
        var source = new MessageRef(SlackIds.Platform, channel, ts);
        var content = new CapturedMessage(source, users.Person(user), SlackMessages.TextOf(message), postedAt);
        var entry = await incidents.CaptureMessageAsync(content, cancellationToken);
        budget.Captured += entry is null ? 0 : 1;
        if (SlackMessages.PinnedBy(message, options.Value.PinReactions, bots) is { } pinner &&
            (entry ?? await store.FindBySourceAsync(source, cancellationToken)) is { Pinned: false })
        {
            // A 📌 placed before the bot could hear it: recorded like a live one, so the bot confirms it too.
            await incidents.RecordPinAsync(source, pinned: true, content, new Actor(users.Person(pinner), source.Space), cancellationToken);
        }
    }

    private sealed class Budget(int limit)
    {
        public int Limit { get; } = limit;
        public int Read { get; set; }
        public int Captured { get; set; }
        public bool Spent => Read >= Limit;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "War room of {Number}: read back {Read} message(s) people said in {Channel}, {Captured} new")]
    private static partial void LogBackfilled(ILogger logger, IncidentNumber number, string channel, int read, int captured);

    [LoggerMessage(Level = LogLevel.Warning, Message = "War room of {Number}: read back only the newest {Limit} messages of {Channel} (Slack:BackfillLimit)")]
    private static partial void LogLimitReached(ILogger logger, IncidentNumber number, string channel, int limit);
}
