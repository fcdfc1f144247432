using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.WarRooms;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.State;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Outbound;

/// <summary>
/// Slack's war rooms as Core's <see cref="WarRoomProjection"/> drives them: channels opened by the
/// <see cref="WarRoomProvisioner"/>, the card posted and updated in place, notices in mrkdwn, role holders invited,
/// the bot's own channels archived on resolve, pins confirmed with a reaction.
/// </summary>
public sealed partial class SlackWarRoom(
    WarRoomProvisioner provisioner,
    WarRoomBackfill backfill,
    ISlackApi slack,
    SlackStateStore state,
    IIncidentStore store,
    IncidentService service,
    SlackUserDirectory users,
    SlackBotIdentity identity,
    IEscalationStateReader escalation,
    IOptions<SlackOptions> options,
    ILogger<SlackWarRoom> logger) : IChatWarRoom
{
    public string Platform => SlackIds.Platform;

    public string Destination => "Slack";

    public bool Enabled => options.Value.Enabled;

    /// <summary>A command's answer in a war room is ephemeral, so the room is told with a post of its own.</summary>
    public bool AnswersInRoom => false;

    public Task OpenAsync(Incident incident, IncidentDeclared declared, CancellationToken cancellationToken) =>
        provisioner.ProvisionAsync(incident, declared, cancellationToken);

    public async Task LinkedAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken)
    {
        // A war room we created is read back by its provisioning; any other was in use before the link.
        var existing = await state.FindIncidentByCreatedChannelAsync(room.Channel, cancellationToken) != incident.Id;
        if (existing)
        {
            // A channel people already use (`link INC-N`): the bot has to be in it to post and to hear messages.
            await JoinAsync(room.Channel, cancellationToken);
        }

        await provisioner.EnsureCardAsync(incident, room.Channel, cancellationToken);
        if (existing)
        {
            await backfill.BackfillAsync(incident, room.Channel, cancellationToken);
        }
    }

    public async Task RefreshCardAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken)
    {
        if (await state.GetCardAsync(room.Channel, incident.Id, cancellationToken) is { } ts)
        {
            await slack.UpdateMessageAsync(room.Channel, ts, SlackRenderer.Card(incident, await escalation.ReadAsync(incident, cancellationToken)), cancellationToken);
        }
        else
        {
            await provisioner.EnsureCardAsync(incident, room.Channel, cancellationToken);
        }
    }

    public async Task PostAsync(ChatSpace room, WarRoomNotice notice, CancellationToken cancellationToken) =>
        await slack.PostMessageAsync(room.Channel, SlackRenderer.Notice(notice), cancellationToken);

    public async Task RemindAsync(ChatSpace room, UpdateReminderDue due, CancellationToken cancellationToken) =>
        await slack.PostMessageAsync(room.Channel, SlackRenderer.Reminder(due), cancellationToken);

    public Task RoleTakenAsync(ChatSpace room, Person holder, CancellationToken cancellationToken) =>
        slack.InviteAsync(room.Channel, [holder.UserId], cancellationToken);

    /// <summary>Archives the channels the bot made for the incident (never linked ones).</summary>
    public async Task<string?> ArchiveAsync(Incident incident, ChatSpace room, CancellationToken cancellationToken)
    {
        if (!options.Value.ArchiveOnResolve || await state.FindIncidentByCreatedChannelAsync(room.Channel, cancellationToken) != incident.Id)
        {
            return null;
        }

        try
        {
            await slack.ArchiveAsync(room.Channel, cancellationToken);
            return $"Archived the war-room channel in Slack ({incident.Number} resolved).";
        }
        catch (SlackApiException ex) when (ex.Error != "already_archived")
        {
            return $"Could not archive the war-room channel in Slack: {ex.Error}.";
        }
        catch (SlackApiException)
        {
            return "The war-room channel in Slack was already archived.";
        }
    }

    /// <summary>Captures a pinned message we never saw (fetching its text), then confirms with a light reaction.</summary>
    public async Task ConfirmPinAsync(MessagePinned pinned, CancellationToken cancellationToken)
    {
        var source = pinned.Message;
        var entry = await store.FindBySourceAsync(source, cancellationToken);
        if (entry is null)
        {
            var message = await slack.GetMessageAsync(source.Channel, source.MessageId, cancellationToken);
            if (message is null || !SlackTs.TryParse(source.MessageId, out var postedAt))
            {
                LogPinnedMessageGone(logger, source.Channel, source.MessageId);
                return;
            }

            var author = users.Person(message.User ?? message.BotId ?? "unknown");
            await service.SetPinnedAsync(source, pinned: true, new CapturedMessage(source, author, message.Text, postedAt), cancellationToken);
        }
        else if (!entry.Pinned && await IsPinnedInSlackAsync(source, cancellationToken))
        {
            // The message was captured only after its pin arrived (a war room's first seconds), so the pin found
            // nothing to mark then. Slack's reactions say whether it is still pinned: an unpin since is respected.
            await service.SetPinnedAsync(source, pinned: true, content: null, cancellationToken);
        }

        await slack.AddReactionAsync(source.Channel, source.MessageId, options.Value.PinConfirmationReaction, cancellationToken);
    }

    /// <summary>
    /// Slack refused for good (is_archived, channel_not_found, missing_scope…). Rate limits and outages are other exception
    /// types, so the outbox retries them later.
    /// </summary>
    public bool IsRefusal(Exception exception) => exception is SlackApiException;

    private async Task<bool> IsPinnedInSlackAsync(MessageRef source, CancellationToken cancellationToken)
    {
        var me = (await identity.GetAsync(slack, cancellationToken)).UserId;
        var message = await slack.GetMessageAsync(source.Channel, source.MessageId, cancellationToken);
        return message is not null && message.Reactions.Any(r =>
            options.Value.PinReactions.Contains(r.Name, StringComparer.Ordinal) && r.Users.Any(u => u != me));
    }

    private async Task JoinAsync(string channel, CancellationToken cancellationToken)
    {
        try
        {
            await slack.JoinAsync(channel, cancellationToken);
        }
        catch (SlackApiException ex) when (ex.Error is "method_not_supported_for_channel_type" or "is_archived" or "channel_not_found" or "missing_scope")
        {
            // Private channels need an invite; the card post then reports not_in_channel.
            LogJoinFailed(logger, channel, ex.Error);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The pinned message {Ts} in {Channel} could not be fetched; not captured")]
    private static partial void LogPinnedMessageGone(ILogger logger, string channel, string ts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not join {Channel}: {Error}")]
    private static partial void LogJoinFailed(ILogger logger, string channel, string error);
}
