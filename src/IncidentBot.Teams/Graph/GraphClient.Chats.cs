using System.Text.Json.Nodes;

namespace IncidentBot.Teams.Graph;

/// <summary>A chat Graph made.</summary>
public sealed record GraphChat(string Id, string? Topic);

public sealed partial class GraphClient
{
    private const string ChatPace = "chats";

    /// <summary>
    /// <c>POST /chats</c>: a group chat with <paramref name="topic"/> and the Entra users <paramref name="memberIds"/>, each an
    /// owner (Graph makes a new chat on every call, so a caller records it at once).
    /// </summary>
    public async Task<GraphChat> CreateGroupChatAsync(string topic, IReadOnlyList<string> memberIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        var members = new JsonArray();
        foreach (var id in memberIds)
        {
            members.Add(new JsonObject
            {
                ["@odata.type"] = "#microsoft.graph.aadUserConversationMember",
                ["roles"] = new JsonArray("owner"),
                ["user@odata.bind"] = $"{BaseUrl}users('{Uri.EscapeDataString(id)}')",
            });
        }

        var body = new JsonObject { ["chatType"] = "group", ["topic"] = topic, ["members"] = members };
        var chat = await SendAsync("create_chat", HttpMethod.Post, "chats", ChatPace, body, cancellationToken);
        return chat?["id"]?.GetValue<string>() is { Length: > 0 } chatId
            ? new GraphChat(chatId, chat["topic"]?.GetValue<string>())
            : throw new GraphException("create_chat", 201, "NoChatId", "the answer had no chat id");
    }

    /// <summary>
    /// <c>POST /chats/{chatId}/installedApps</c>: installs the app (its id in the organisation's app catalog) into the chat,
    /// consenting to its resource-specific permissions, so the Bot Connector may post there. Installed already (409) is done.
    /// </summary>
    public async Task InstallAppInChatAsync(
        string chatId, string catalogAppId, IReadOnlyList<ResourceSpecificPermission> permissions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(permissions);
        var consented = new JsonArray();
        foreach (var permission in permissions)
        {
            consented.Add(new JsonObject { ["permissionValue"] = permission.Name, ["permissionType"] = permission.Type });
        }

        var body = new JsonObject
        {
            ["teamsApp@odata.bind"] = $"{BaseUrl}appCatalogs/teamsApps/{Uri.EscapeDataString(catalogAppId)}",
            ["consentedPermissionSet"] = new JsonObject { ["resourceSpecificPermissions"] = consented },
        };
        try
        {
            await SendAsync("install_app", HttpMethod.Post, $"chats/{Uri.EscapeDataString(chatId)}/installedApps", ChatPace, body, cancellationToken);
        }
        catch (GraphException ex) when (ex.Status == 409)
        {
            // An earlier try installed it and its answer was lost.
        }
    }

    private string BaseUrl => options.Value.GraphBaseUrl.EndsWith('/') ? options.Value.GraphBaseUrl : options.Value.GraphBaseUrl + "/";
}

/// <summary>A resource-specific permission of the app's manifest (<c>authorization.permissions.resourceSpecific</c>).</summary>
public sealed record ResourceSpecificPermission(string Name, string Type);
