using System.Globalization;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.State;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Outbound;

/// <summary>
/// The slow half of "verify, persist, acknowledge, then work": reacts to stored incident events from the
/// outbox by opening war rooms and posting to them. Delivery is at-least-once, so every post is recorded
/// in <c>slack_deliveries</c> and skipped when the event comes again.
/// </summary>
public sealed partial class SlackIncidentEventHandler(
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
    ILogger<SlackIncidentEventHandler> logger) : IIncidentEventHandler
{
    /// <summary>Nothing while Slack is off; a note is already in the war room as the command's own answer.</summary>
    public bool Receives(Type eventType) => options.Value.Enabled && eventType != typeof(NoteAdded);

    public string Destination => "Slack";

    public async Task HandleAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        try
        {
            await DeliverAsync(incidentEvent, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            // Slack refused for good (is_archived, channel_not_found, missing_scope…). Rate limits and outages are
            // other exception types and do propagate, so the outbox retries them later.
            LogRefused(logger, incidentEvent.GetType().Name, incidentEvent.Number, ex.Method, ex.Error);
        }
    }

    private async Task DeliverAsync(IncidentEvent incidentEvent, CancellationToken cancellationToken)
    {
        switch (incidentEvent)
        {
            case IncidentDeclared declared when declared.Origin?.Platform == SlackIds.Platform:
                await provisioner.ProvisionAsync(declared, cancellationToken);
                return;
            case IncidentMadePrivate madePrivate:
                await provisioner.MoveToPrivateAsync(madePrivate, cancellationToken);
                return;
            case MessagePinned pinned when pinned.Message.Platform == SlackIds.Platform:
                await ConfirmPinAsync(pinned, cancellationToken);
                return;
        }

        var post = SlackRenderer.EventPost(incidentEvent);
        if (post is null && !ChangesCard(incidentEvent) && incidentEvent is not WarRoomLinked)
        {
            return;
        }

        var incident = await store.GetAsync(incidentEvent.Number, cancellationToken);
        var rooms = incident?.WarRooms.Where(r => r.Platform == SlackIds.Platform).Select(r => r.Channel).ToList() ?? [];
        if (incident is { IsPrivate: true })
        {
            rooms = await provisioner.OpenRoomsAsync(incident, rooms, cancellationToken);
        }

        if (incident is null || rooms.Count == 0)
        {
            return;
        }

        if (incidentEvent is WarRoomLinked linked)
        {
            if (linked.Room.Platform == SlackIds.Platform)
            {
                // A war room we created is read back by its provisioning; any other was in use before the link.
                var existing = await state.FindIncidentByCreatedChannelAsync(linked.Room.Channel, cancellationToken) != incident.Id;
                if (existing)
                {
                    // A channel people already use (`link INC-N`): the bot has to be in it to post and to hear messages.
                    await JoinAsync(linked.Room.Channel, cancellationToken);
                }

                await provisioner.EnsureCardAsync(incident, linked.Room.Channel, cancellationToken);
                if (existing)
                {
                    await backfill.BackfillAsync(incident, linked.Room.Channel, cancellationToken);
                }
            }

            return;
        }

        foreach (var channel in rooms)
        {
            if (incidentEvent is RoleAssigned { Holder.Platform: SlackIds.Platform } assigned)
            {
                // Whoever takes a role belongs in the war room.
                await slack.InviteAsync(channel, [assigned.Holder.UserId], cancellationToken);
            }

            if (post is not null)
            {
                var key = DeliveryKey(incidentEvent, channel);
                if (!await state.WasDeliveredAsync(key, cancellationToken))
                {
                    await slack.PostMessageAsync(channel, post, cancellationToken);
                    await state.MarkDeliveredAsync(key, cancellationToken);
                }
            }

            if (ChangesCard(incidentEvent))
            {
                await RefreshCardAsync(incident, channel, cancellationToken);
            }
        }

        if (incidentEvent is IncidentResolved && options.Value.ArchiveOnResolve)
        {
            await ArchiveAsync(incident, incidentEvent, rooms, cancellationToken);
        }
    }

    /// <summary>Archives the channels the bot made for the incident (never linked ones), after the resolved card and post.</summary>
    private async Task ArchiveAsync(Incident incident, IncidentEvent resolved, IReadOnlyList<string> rooms, CancellationToken cancellationToken)
    {
        foreach (var channel in rooms)
        {
            var key = "Archive:" + DeliveryKey(resolved, channel);
            if (await state.FindIncidentByCreatedChannelAsync(channel, cancellationToken) != incident.Id || await state.WasDeliveredAsync(key, cancellationToken))
            {
                continue;
            }

            string text;
            try
            {
                await slack.ArchiveAsync(channel, cancellationToken);
                text = $"Archived the war-room channel in Slack ({incident.Number} resolved).";
            }
            catch (SlackApiException ex) when (ex.Error != "already_archived")
            {
                text = $"Could not archive the war-room channel in Slack: {ex.Error}.";
            }
            catch (SlackApiException)
            {
                text = "The war-room channel in Slack was already archived.";
            }

            await service.RecordWarRoomAsync(incident.Number, text, cancellationToken);
            await state.MarkDeliveredAsync(key, cancellationToken);
        }
    }

    private async Task RefreshCardAsync(Incident incident, string channel, CancellationToken cancellationToken)
    {
        if (await state.GetCardAsync(channel, incident.Id, cancellationToken) is { } ts)
        {
            await slack.UpdateMessageAsync(channel, ts, SlackRenderer.Card(incident, await escalation.ReadAsync(incident, cancellationToken)), cancellationToken);
        }
        else
        {
            await provisioner.EnsureCardAsync(incident, channel, cancellationToken);
        }
    }

    /// <summary>Captures a pinned message we never saw (fetching its text), then confirms with a light reaction.</summary>
    private async Task ConfirmPinAsync(MessagePinned pinned, CancellationToken cancellationToken)
    {
        var source = pinned.Message;
        var key = DeliveryKey(pinned, source.Channel);
        if (!pinned.Pinned || await state.WasDeliveredAsync(key, cancellationToken))
        {
            return;
        }

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
        await state.MarkDeliveredAsync(key, cancellationToken);
    }

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
            // Private channels need an invite; the card post below then reports not_in_channel.
            LogJoinFailed(logger, channel, ex.Error);
        }
    }

    private static bool ChangesCard(IncidentEvent incidentEvent) => incidentEvent is
        RoleAssigned or SeverityChanged or StatusChanged or UpdatePosted or IncidentAcknowledged or
        IncidentResolved or IncidentReopened or UpdateSnoozed or EscalationStateChanged;

    private static string DeliveryKey(IncidentEvent incidentEvent, string channel) =>
        string.Create(CultureInfo.InvariantCulture, $"{incidentEvent.GetType().Name}:{incidentEvent.IncidentId}:{incidentEvent.OccurredAt.UtcTicks}:{channel}");

    [LoggerMessage(Level = LogLevel.Error, Message = "Slack refused {Method} for {Event} of {Number}: {Error}; not retried")]
    private static partial void LogRefused(ILogger logger, string @event, IncidentNumber number, string method, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The pinned message {Ts} in {Channel} could not be fetched; not captured")]
    private static partial void LogPinnedMessageGone(ILogger logger, string channel, string ts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not join {Channel}: {Error}")]
    private static partial void LogJoinFailed(ILogger logger, string channel, string error);
}
