using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Teams;

/// <summary>Builds activities the way Teams sends them to a bot (channel <c>msteams</c>).</summary>
public sealed class TeamsActivities(string serviceUrl, string botId = "28:incidentbot-app", string botName = "IncidentBot")
{
    public const string TenantId = "72f988bf-0000-0000-0000-tenant000001";
    private int _next;

    public string BotId => botId;

    public string NextId() => $"1700000000{Interlocked.Increment(ref _next):D3}";

    public JsonObject Base(string type, string conversationId, TeamsUser from, string conversationType = "channel", string? meetingId = null, string? id = null)
    {
        var channelData = new JsonObject { ["tenant"] = new JsonObject { ["id"] = TenantId } };
        if (conversationType == "channel")
        {
            channelData["team"] = new JsonObject { ["id"] = "19:team-general@thread.tacv2" };
            channelData["channel"] = new JsonObject { ["id"] = conversationId.Split(';')[0] };
        }

        if (meetingId is not null)
        {
            channelData["meeting"] = new JsonObject { ["id"] = meetingId };
        }

        return new JsonObject
        {
            ["type"] = type,
            ["id"] = id ?? NextId(),
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
            ["serviceUrl"] = serviceUrl,
            ["channelId"] = "msteams",
            ["from"] = from.ToJson(),
            ["conversation"] = new JsonObject { ["id"] = conversationId, ["conversationType"] = conversationType, ["tenantId"] = TenantId },
            ["recipient"] = new JsonObject { ["id"] = botId, ["name"] = botName },
            ["channelData"] = channelData,
        };
    }

    /// <summary><c>@IncidentBot {command}</c>, optionally mentioning people (written as <c>{0}</c>, <c>{1}</c> in the command).</summary>
    public JsonObject Command(string conversationId, TeamsUser from, string command, string conversationType = "channel", string? meetingId = null, params TeamsUser[] mentioned)
    {
        var activity = Base("message", conversationId, from, conversationType, meetingId);
        var text = string.Format(System.Globalization.CultureInfo.InvariantCulture, command, mentioned.Select(m => (object)$"<at>{m.Name}</at>").ToArray());
        activity["text"] = $"<at>{botName}</at> {text}";
        var entities = new JsonArray
        {
            new JsonObject { ["type"] = "mention", ["text"] = $"<at>{botName}</at>", ["mentioned"] = new JsonObject { ["id"] = botId, ["name"] = botName } },
        };
        foreach (var user in mentioned)
        {
            entities.Add(new JsonObject { ["type"] = "mention", ["text"] = $"<at>{user.Name}</at>", ["mentioned"] = new JsonObject { ["id"] = user.Mri, ["name"] = user.Name } });
        }

        entities.Add(new JsonObject { ["type"] = "clientInfo", ["locale"] = "en-US", ["platform"] = "Web" });
        activity["entities"] = entities;
        return activity;
    }

    public JsonObject Message(string conversationId, TeamsUser from, string text, string conversationType = "channel", string? id = null)
    {
        var activity = Base("message", conversationId, from, conversationType, id: id);
        activity["text"] = text;
        activity["textFormat"] = "plain";
        return activity;
    }

    public JsonObject CardAction(string conversationId, TeamsUser from, string verb, JsonObject data, string replyToId, string conversationType = "channel")
    {
        var activity = Base("invoke", conversationId, from, conversationType);
        activity["name"] = "adaptiveCard/action";
        activity["replyToId"] = replyToId;
        activity["value"] = new JsonObject
        {
            ["action"] = new JsonObject { ["type"] = "Action.Execute", ["verb"] = verb, ["data"] = data, ["id"] = verb },
            ["trigger"] = "manual",
        };
        return activity;
    }

    public JsonObject Reaction(string conversationId, TeamsUser from, string messageId, string reaction, bool added = true)
    {
        var activity = Base("messageReaction", conversationId, from);
        activity["replyToId"] = messageId;
        activity[added ? "reactionsAdded" : "reactionsRemoved"] = new JsonArray(new JsonObject { ["type"] = reaction });
        return activity;
    }

    public JsonObject MessageAction(string conversationId, TeamsUser from, string commandId, string messageId, TeamsUser author, string html, DateTimeOffset postedAt)
    {
        var activity = Base("invoke", conversationId, from);
        activity["name"] = "composeExtension/submitAction";
        activity["value"] = new JsonObject
        {
            ["commandId"] = commandId,
            ["commandContext"] = "message",
            ["messagePayload"] = new JsonObject
            {
                ["id"] = messageId,
                ["createdDateTime"] = postedAt.ToString("O"),
                ["messageType"] = "message",
                ["from"] = new JsonObject { ["user"] = new JsonObject { ["id"] = author.AadObjectId, ["displayName"] = author.Name, ["userIdentityType"] = "aadUser" } },
                ["body"] = new JsonObject { ["contentType"] = "html", ["content"] = html },
            },
        };
        return activity;
    }

    public JsonObject MessageUpdate(string conversationId, TeamsUser from, string messageId, string newText)
    {
        var activity = Base("messageUpdate", conversationId, from, id: messageId);
        activity["text"] = newText;
        activity["channelData"]!["eventType"] = "editMessage";
        return activity;
    }

    public JsonObject MessageDelete(string conversationId, TeamsUser from, string messageId)
    {
        var activity = Base("messageDelete", conversationId, from, id: messageId);
        activity["channelData"]!["eventType"] = "softDeleteMessage";
        return activity;
    }

    public JsonObject MeetingEvent(string conversationId, TeamsUser from, string meetingId, string name, JsonObject value)
    {
        var activity = Base("event", conversationId, from, "groupChat", meetingId);
        activity["name"] = name;
        activity["value"] = value;
        return activity;
    }
}

/// <summary>A Teams user: MRI (<c>29:…</c>) as the connector knows them, Entra object id, display name.</summary>
public sealed record TeamsUser(string Mri, string AadObjectId, string Name)
{
    public JsonObject ToJson() => new() { ["id"] = Mri, ["name"] = Name, ["aadObjectId"] = AadObjectId };
}
