using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Slack.Rendering;
using IncidentBot.Slack.State;
using IncidentBot.Slack.WebApi;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Outbound;

/// <summary>
/// Opens the war room of an incident declared from Slack: channel, link, invites, topic, card, announcement, then
/// reads back what was said before the link. The link is stored as soon as Slack answers that the channel exists,
/// before anyone is invited, so the room is captured from its first second; a message said in the moment between
/// Slack creating the channel and the link is read back from its history. Each step is recorded in
/// <c>slack_war_rooms</c>, so a redelivered event resumes where the last attempt stopped and a crash after Slack
/// created the channel adopts that channel instead of making a second one.
/// </summary>
public sealed partial class WarRoomProvisioner(
    ISlackApi slack,
    SlackStateStore state,
    IIncidentStore incidents,
    IncidentService service,
    SlackBotIdentity identity,
    WarRoomBackfill backfill,
    IEscalationStateReader escalation,
    IOptions<SlackOptions> options,
    ILogger<WarRoomProvisioner> logger)
{
    private const int MaxNameVariants = 20;

    // A channel found by name is ours to adopt only if we created it around the time of the declaration.
    private static readonly TimeSpan AdoptWindow = TimeSpan.FromMinutes(10);

    public async Task ProvisionAsync(Incident incident, IncidentDeclared declared, CancellationToken cancellationToken)
    {
        var progress = await state.GetOrStartWarRoomAsync(
            incident.Id, ChannelNames.For(options.Value.ChannelPrefix, incident.Number, incident.Title), cancellationToken);
        string channel;
        try
        {
            channel = progress.ChannelId ?? await CreateChannelAsync(incident, progress, cancellationToken);
        }
        catch (SlackApiException ex)
        {
            // restricted_action, missing_scope, invalid_auth…: retrying cannot help, and would hold up this
            // incident's other events (reminders, pages) behind it.
            LogCreateFailed(logger, incident.Number, ex.Error);
            return;
        }

        if (!progress.Linked)
        {
            // Nothing but our own database between Slack's answer and this: from here on every message is captured.
            var room = new ChatSpace(SlackIds.Platform, channel);
            var owner = await incidents.FindByWarRoomAsync(room, cancellationToken);
            if (owner is null)
            {
                await service.LinkOpenedWarRoomAsync(incident.Number, room, new Actor(declared.Actor ?? incident.DeclaredBy, room), cancellationToken);
            }
            else if (owner.Id != incident.Id)
            {
                LogLinkedElsewhere(logger, channel, owner.Number, incident.Number);
            }

            await state.MarkAsync(incident.Id, WarRoomStep.Linked, cancellationToken);
        }

        // The steps below are best effort: a failed invite or topic must not leave the war room without its card.
        if (!progress.Invited)
        {
            var people = new List<Person> { incident.DeclaredBy };
            people.AddRange(declared.Responders);
            people.AddRange(incident.Roles.Values);
            var me = (await identity.GetAsync(slack, cancellationToken)).UserId;
            var ids = people.Where(p => p.Platform == SlackIds.Platform && p.UserId != me).Select(p => p.UserId).ToList();
            await BestEffortAsync(incident.Number, "invite", () => slack.InviteAsync(channel, ids, cancellationToken));
            await state.MarkAsync(incident.Id, WarRoomStep.Invited, cancellationToken);
        }

        if (!progress.TopicSet)
        {
            await BestEffortAsync(incident.Number, "topic", async () =>
            {
                await slack.SetTopicAsync(channel, SlackRenderer.Topic(incident), cancellationToken);
                await slack.SetPurposeAsync(channel, SlackRenderer.Purpose(incident), cancellationToken);
            });
            await state.MarkAsync(incident.Id, WarRoomStep.TopicSet, cancellationToken);
        }

        await BestEffortAsync(incident.Number, "card", () => EnsureCardAsync(incident, channel, cancellationToken));

        if (!progress.Announced)
        {
            if (options.Value.AnnouncementsChannel is { Length: > 0 } announcements)
            {
                await BestEffortAsync(incident.Number, "announcement", () => slack.PostMessageAsync(announcements, SlackRenderer.Announcement(incident, channel), cancellationToken));
            }

            await state.MarkAsync(incident.Id, WarRoomStep.Announced, cancellationToken);
        }

        // Last, so people are not kept waiting for their invite; it runs again on every redelivery (captures dedupe).
        await BestEffortAsync(incident.Number, "read back", () => backfill.BackfillAsync(incident, channel, cancellationToken));
        LogProvisioned(logger, incident.Number, channel);
    }

    private async Task BestEffortAsync(IncidentNumber number, string step, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (SlackApiException ex)
        {
            LogStepFailed(logger, step, number, ex.Error);
        }
    }

    /// <summary>Posts the incident card in <paramref name="channel"/> unless one is already there.</summary>
    public async Task EnsureCardAsync(Incident incident, string channel, CancellationToken cancellationToken)
    {
        if (await state.GetCardAsync(channel, incident.Id, cancellationToken) is not null)
        {
            return;
        }

        var ts = await slack.PostMessageAsync(channel, SlackRenderer.Card(incident, await escalation.ReadAsync(incident, cancellationToken)), cancellationToken);
        await state.SaveCardAsync(channel, incident.Id, ts, cancellationToken);
    }

    private async Task<string> CreateChannelAsync(Incident incident, WarRoomProgress progress, CancellationToken cancellationToken)
    {
        var name = progress.ChannelName;
        for (var variant = 1; variant <= MaxNameVariants; variant++)
        {
            try
            {
                var created = await slack.CreateConversationAsync(name, isPrivate: false, cancellationToken);
                await state.SetChannelAsync(incident.Id, created.Id, cancellationToken);
                LogCreated(logger, name, created.Id, incident.Number);
                return created.Id;
            }
            catch (SlackApiException ex) when (ex.Error == "name_taken")
            {
                if (await AdoptAsync(incident, name, cancellationToken) is { } adopted)
                {
                    return adopted;
                }

                LogNameTaken(logger, name, incident.Number);
                name = ChannelNames.For(options.Value.ChannelPrefix, incident.Number, incident.Title, variant + 1);
                await state.SetChannelNameAsync(incident.Id, name, cancellationToken);
            }
        }

        throw new InvalidOperationException($"No free channel name for {incident.Number} after {MaxNameVariants} tries.");
    }

    /// <summary>
    /// The name is taken: if we made that channel for this incident (the create call succeeded but its answer
    /// was lost to a crash or timeout), carry on with it rather than making another.
    /// </summary>
    private async Task<string?> AdoptAsync(Incident incident, string name, CancellationToken cancellationToken)
    {
        var existing = await slack.FindChannelByNameAsync(name, cancellationToken);
        var me = (await identity.GetAsync(slack, cancellationToken)).UserId;
        if (existing is null || existing.Creator != me ||
            existing.Created is not { } created || created < incident.DeclaredAt - AdoptWindow)
        {
            return null;
        }

        var owner = await incidents.FindByWarRoomAsync(new ChatSpace(SlackIds.Platform, existing.Id), cancellationToken);
        var claimed = await state.FindIncidentByCreatedChannelAsync(existing.Id, cancellationToken);
        if (owner is not null && owner.Id != incident.Id || claimed is { } other && other != incident.Id)
        {
            return null;
        }

        await state.SetChannelAsync(incident.Id, existing.Id, cancellationToken);
        LogAdopted(logger, name, existing.Id, incident.Number);
        return existing.Id;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not create a war-room channel for {Number}: Slack answered {Error}")]
    private static partial void LogCreateFailed(ILogger logger, IncidentNumber number, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "War room of {Number}: the {Step} step failed with {Error}; carrying on")]
    private static partial void LogStepFailed(ILogger logger, string step, IncidentNumber number, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created #{Name} ({Channel}) for {Number}")]
    private static partial void LogCreated(ILogger logger, string name, string channel, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel name {Name} is taken; trying another for {Number}")]
    private static partial void LogNameTaken(ILogger logger, string name, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted #{Name} ({Channel}), created earlier for {Number}")]
    private static partial void LogAdopted(ILogger logger, string name, string channel, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel} is already the war room of {Owner}, not {Number}")]
    private static partial void LogLinkedElsewhere(ILogger logger, string channel, IncidentNumber owner, IncidentNumber number);

    [LoggerMessage(Level = LogLevel.Information, Message = "War room of {Number} is ready in {Channel}")]
    private static partial void LogProvisioned(ILogger logger, IncidentNumber number, string channel);
}
