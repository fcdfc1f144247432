using System.Text.Json;
using System.Text.Json.Nodes;

namespace IncidentBot.Slack.WebApi;

/// <summary>A message body: the notification text and, optionally, Block Kit blocks.</summary>
public sealed record SlackMessage(string Text, JsonArray? Blocks = null)
{
    /// <summary><c>in_channel</c> or <c>ephemeral</c>, for slash-command and response_url answers.</summary>
    public string? ResponseType { get; init; }

    public bool ReplaceOriginal { get; init; }

    public JsonObject ToJson()
    {
        var json = new JsonObject { ["text"] = Text };
        if (Blocks is not null)
        {
            json["blocks"] = Blocks.DeepClone();
        }

        if (ResponseType is not null)
        {
            json["response_type"] = ResponseType;
        }

        if (ReplaceOriginal)
        {
            json["replace_original"] = true;
        }

        return json;
    }
}

public sealed record SlackChannel(string Id, string Name, string? Creator, DateTimeOffset? Created);

public sealed record SlackHistoryMessage(string Ts, string? User, string Text, string? BotId)
{
    /// <summary>The reactions on the message now: each name with the users who added it.</summary>
    public IReadOnlyList<SlackReaction> Reactions { get; init; } = [];
}

public sealed record SlackReaction(string Name, IReadOnlyList<string> Users);

/// <summary>
/// One page of <c>conversations.history</c> or <c>conversations.replies</c>: the messages as Slack sends them (the
/// shape of a <c>message</c> event's inner object), and the cursor of the next page, null after the last.
/// </summary>
public sealed record SlackMessagePage(IReadOnlyList<JsonElement> Messages, string? NextCursor);

/// <summary>Who the bot token is (auth.test): its user, its team, and for Enterprise Grid its organisation.</summary>
public sealed record SlackAuth(string UserId, string? BotId, string TeamId)
{
    public string? EnterpriseId { get; init; }

    /// <summary>Installed on a whole Enterprise Grid organisation, not one workspace.</summary>
    public bool IsEnterpriseInstall { get; init; }
}

/// <summary>A file to share in a channel: its name, the title Slack shows, and its bytes.</summary>
public sealed record SlackFileUpload(string FileName, string Title, ReadOnlyMemory<byte> Content)
{
    /// <summary>Shares the file as a reply in this message's thread instead of in the channel.</summary>
    public string? ThreadTs { get; init; }

    public string? InitialComment { get; init; }
}

/// <summary>The Slack Web API methods IncidentBot uses (typed), plus <see cref="CallAsync"/> for the rest.</summary>
public interface ISlackApi
{
    Task<SlackAuth> AuthTestAsync(CancellationToken cancellationToken);

    Task<SlackChannel> CreateConversationAsync(string name, bool isPrivate, CancellationToken cancellationToken);

    /// <summary>Invites in batches of at most 100; people already in the channel are not an error.</summary>
    Task InviteAsync(string channel, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken);

    Task SetTopicAsync(string channel, string topic, CancellationToken cancellationToken);

    Task SetPurposeAsync(string channel, string purpose, CancellationToken cancellationToken);

    Task JoinAsync(string channel, CancellationToken cancellationToken);

    Task ArchiveAsync(string channel, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="user"/> is a member of <paramref name="channel"/> (<c>conversations.members</c>, every page).</summary>
    Task<bool> IsMemberAsync(string channel, string user, CancellationToken cancellationToken);

    /// <summary>Finds a channel by name among the ones the bot can see (public and private).</summary>
    Task<SlackChannel?> FindChannelByNameAsync(string name, CancellationToken cancellationToken);

    /// <summary>Posts in order per channel, spaced by <see cref="SlackOptions.ChannelPostInterval"/>; returns the message ts.</summary>
    Task<string> PostMessageAsync(string channel, SlackMessage message, CancellationToken cancellationToken);

    Task UpdateMessageAsync(string channel, string ts, SlackMessage message, CancellationToken cancellationToken);

    /// <summary>Adds a reaction; one that is already there is not an error.</summary>
    Task AddReactionAsync(string channel, string ts, string name, CancellationToken cancellationToken);

    Task<string> OpenViewAsync(string triggerId, JsonObject view, CancellationToken cancellationToken);

    /// <summary>One top-level message by its ts, or null when it is gone.</summary>
    Task<SlackHistoryMessage?> GetMessageAsync(string channel, string ts, CancellationToken cancellationToken);

    /// <summary>A page of a channel's top-level messages posted after <paramref name="oldest"/> (a ts), newest first.</summary>
    Task<SlackMessagePage> GetHistoryAsync(string channel, string oldest, string? cursor, int limit, CancellationToken cancellationToken);

    /// <summary>A page of a thread, its parent first, then the replies posted after <paramref name="oldest"/>, oldest first.</summary>
    Task<SlackMessagePage> GetRepliesAsync(string channel, string threadTs, string oldest, string? cursor, int limit, CancellationToken cancellationToken);

    /// <summary><c>apps.connections.open</c> with the app-level token: a fresh Socket Mode URL.</summary>
    Task<Uri> OpenSocketModeConnectionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Uploads a file and shares it in <paramref name="channel"/>: <c>files.getUploadURLExternal</c>, the bytes to the
    /// upload URL, then <c>files.completeUploadExternal</c> (needs <c>files:write</c>). Returns the file id.
    /// </summary>
    Task<string> UploadFileAsync(string channel, SlackFileUpload file, CancellationToken cancellationToken);

    /// <summary>Posts to an interaction's <c>response_url</c>.</summary>
    Task RespondAsync(Uri responseUrl, SlackMessage message, CancellationToken cancellationToken);
}
