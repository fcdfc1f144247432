using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Schema;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Teams.Inbound;

/// <summary>Turns Teams accounts, mentions and people-picker ids into Entra-object-id persons, as the sender is.</summary>
public sealed partial class TeamsUserDirectory(ConnectorClient connector, ILogger<TeamsUserDirectory> logger)
{
    public static Person PersonOf(ChannelAccount? account) =>
        new(TeamsIds.Platform, account?.AadObjectId ?? account?.Id ?? "unknown", account?.Name ?? "");

    /// <summary>
    /// A person by MRI or Entra object id: the conversation's member (for the name), else the mention as given, else an
    /// Entra object id taken as it is (people picked from the whole organisation need not be members); null when unknown.
    /// </summary>
    public async Task<Person?> FindAsync(string id, TeamsTurn turn, ChannelAccount? mentioned, CancellationToken cancellationToken)
    {
        TeamsMember? member = null;
        try
        {
            member = await connector.GetMemberAsync(turn.ServiceUrl, turn.Room, id, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException)
        {
            LogMemberLookupFailed(logger, ex);
        }

        if (member is null && mentioned is null && !Guid.TryParse(id, out _))
        {
            return null;
        }

        return new Person(TeamsIds.Platform, member?.AadObjectId ?? mentioned?.AadObjectId ?? id, member?.Name ?? mentioned?.Name ?? "");
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Teams: member lookup failed; using the id as given")]
    private static partial void LogMemberLookupFailed(ILogger logger, Exception exception);
}
