using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace IncidentBot.Teams.Schema;

/// <summary>A Bot Framework activity: the fields this bot reads or writes, nothing else.</summary>
public sealed record Activity
{
    public string? Type { get; init; }
    public string? Id { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public string? ServiceUrl { get; init; }
    public string? ChannelId { get; init; }
    public ChannelAccount? From { get; init; }
    public ConversationAccount? Conversation { get; init; }
    public ChannelAccount? Recipient { get; init; }
    public string? TextFormat { get; init; }
    public string? Text { get; init; }
    public string? Summary { get; init; }
    public string? ReplyToId { get; init; }
    public string? Name { get; init; }
    public JsonElement? Value { get; init; }
    public JsonElement? ChannelData { get; init; }
    public IReadOnlyList<Entity>? Entities { get; init; }
    public IReadOnlyList<Attachment>? Attachments { get; init; }
    public IReadOnlyList<MessageReaction>? ReactionsAdded { get; init; }
    public IReadOnlyList<MessageReaction>? ReactionsRemoved { get; init; }
    public IReadOnlyList<ChannelAccount>? MembersAdded { get; init; }
    public IReadOnlyList<ChannelAccount>? MembersRemoved { get; init; }

    /// <summary>An <c>installationUpdate</c>'s add, add-upgrade, remove or remove-upgrade.</summary>
    public string? Action { get; init; }
}

public sealed record ChannelAccount(string? Id, string? Name = null)
{
    public string? AadObjectId { get; init; }
    public string? Role { get; init; }
}

public sealed record ConversationAccount(string? Id)
{
    public string? Name { get; init; }
    public string? ConversationType { get; init; }
    public string? TenantId { get; init; }
    public bool? IsGroup { get; init; }
}

/// <summary>Mentions are the only entity read; other entity types parse with null fields.</summary>
public sealed record Entity(string? Type)
{
    public string? Text { get; init; }
    public ChannelAccount? Mentioned { get; init; }
}

public sealed record Attachment(string ContentType, JsonNode? Content);

public sealed record MessageReaction(string? Type);

public sealed record ResourceResponse(string? Id);

public sealed record ConversationResourceResponse(string? Id, string? ActivityId = null, string? ServiceUrl = null);

/// <summary>Body of <c>POST v3/conversations</c>.</summary>
public sealed record ConversationParameters
{
    public bool? IsGroup { get; init; }
    public ChannelAccount? Bot { get; init; }
    public IReadOnlyList<ChannelAccount>? Members { get; init; }
    public string? TenantId { get; init; }
    public JsonObject? ChannelData { get; init; }
    public Activity? Activity { get; init; }
}

/// <summary>A member as <c>GET v3/conversations/{id}/members/{userId}</c> returns it.</summary>
public sealed record TeamsMember(string? Id, string? Name)
{
    public string? AadObjectId { get; init; }
    public string? Email { get; init; }
    public string? UserPrincipalName { get; init; }
}

/// <summary>The body of an invoke's HTTP response.</summary>
public sealed record InvokeResponse(int Status, JsonNode? Body);

public sealed record TokenResponse(
    [property: JsonPropertyName("access_token")] string? AccessToken,
    [property: JsonPropertyName("expires_in")] int? ExpiresIn,
    [property: JsonPropertyName("token_type")] string? TokenType);

public static class ActivityTypes
{
    public const string Message = "message";
    public const string Invoke = "invoke";
    public const string Event = "event";
    public const string ConversationUpdate = "conversationUpdate";
    public const string InstallationUpdate = "installationUpdate";
    public const string MessageReaction = "messageReaction";
    public const string MessageUpdate = "messageUpdate";
    public const string MessageDelete = "messageDelete";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(Activity))]
[JsonSerializable(typeof(ResourceResponse))]
[JsonSerializable(typeof(ConversationResourceResponse))]
[JsonSerializable(typeof(ConversationParameters))]
[JsonSerializable(typeof(TeamsMember))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(JsonNode))]
internal sealed partial class TeamsJsonContext : JsonSerializerContext;
