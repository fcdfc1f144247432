using System.Text.Json.Nodes;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Schema;

namespace IncidentBot.Teams.Inbound;

/// <summary>The bodies an invoke is answered with (HTTP 200 carrying <c>{statusCode, type, value}</c>).</summary>
public static class InvokeResponses
{
    /// <summary>Nobody handles this invoke (as Bot Builder answers).</summary>
    public static InvokeResponse NotImplemented { get; } = new(501, null);

    /// <summary>A message the user sees in place of the card's error (Universal Actions).</summary>
    public static InvokeResponse Message(string text) =>
        new(200, new JsonObject { ["statusCode"] = 200, ["type"] = "application/vnd.microsoft.activity.message", ["value"] = text });

    /// <summary>The card that replaces the one clicked, for the person who clicked.</summary>
    public static InvokeResponse Card(JsonObject card) =>
        new(200, new JsonObject { ["statusCode"] = 200, ["type"] = IncidentCards.ContentType, ["value"] = card });

    public static InvokeResponse Error(int status, string code, string message) =>
        new(200, new JsonObject
        {
            ["statusCode"] = status,
            ["type"] = "application/vnd.microsoft.error",
            ["value"] = new JsonObject { ["code"] = code, ["message"] = message },
        });

    /// <summary>The answer to a message action (<c>composeExtension/*</c>): a message shown to the person who used it.</summary>
    public static InvokeResponse TaskMessage(string text) =>
        new(200, new JsonObject { ["task"] = new JsonObject { ["type"] = "message", ["value"] = text } });
}
