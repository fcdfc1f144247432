using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
using IncidentBot.Slack.WebApi;

namespace IncidentBot.Slack.Outbound;

/// <summary>Who is in a Slack war room, for <c>link</c>: <c>conversations.members</c>; null when Slack will not say.</summary>
public sealed class SlackWarRoomMembership(ISlackApi slack) : IWarRoomMembership
{
    public string Platform => SlackIds.Platform;

    public async Task<bool?> IsMemberAsync(ChatSpace room, Person person, CancellationToken cancellationToken)
    {
        if (person.Platform != SlackIds.Platform)
        {
            return false;
        }

        try
        {
            return await slack.IsMemberAsync(room.Channel, person.UserId, cancellationToken);
        }
        catch (SlackApiException)
        {
            // channel_not_found, missing_scope…: unknown, so IncidentAccess refuses unless it knows otherwise.
            return null;
        }
    }
}
