using System.Text.Json.Nodes;

namespace IncidentBot.Teams.Cards;

/// <summary>The Adaptive Card building blocks our cards share.</summary>
internal static class CardElements
{
    /// <summary>The card with each non-empty action set as a row of buttons under the body.</summary>
    public static JsonObject Card(JsonArray body, params JsonArray[] actionSets)
    {
        var card = new JsonObject
        {
            ["type"] = "AdaptiveCard",
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["version"] = IncidentCards.Version,
            ["body"] = body,
        };
        foreach (var actions in actionSets.Where(a => a.Count > 0))
        {
            body.Add(new JsonObject { ["type"] = "ActionSet", ["actions"] = actions });
        }

        card["msteams"] = new JsonObject { ["width"] = "Full" };
        return card;
    }

    /// <summary>Action.Execute (Universal Actions) with Action.Submit as the fallback for older clients.</summary>
    public static JsonObject Execute(string title, string verb, string? incident)
    {
        JsonObject Data() => incident is null ? new JsonObject { ["verb"] = verb } : new JsonObject { ["verb"] = verb, ["incident"] = incident };
        return new JsonObject
        {
            ["type"] = "Action.Execute",
            ["title"] = title,
            ["verb"] = verb,
            ["data"] = Data(),
            ["fallback"] = new JsonObject { ["type"] = "Action.Submit", ["title"] = title, ["data"] = Data() },
        };
    }

    public static JsonObject ShowCard(string title, JsonNode[] inputs, params JsonNode[] submit) => new()
    {
        ["type"] = "Action.ShowCard",
        ["title"] = title,
        ["card"] = new JsonObject
        {
            ["type"] = "AdaptiveCard",
            ["body"] = new JsonArray(inputs),
            ["actions"] = new JsonArray(submit),
        },
    };

    public static JsonObject Text(string text, string? color = null)
    {
        var block = new JsonObject { ["type"] = "TextBlock", ["text"] = text, ["wrap"] = true };
        if (color is not null)
        {
            block["color"] = color;
        }

        return block;
    }

    public static JsonObject TextInput(string id, string label, int maxLength, string? value = null, bool multiline = false, string? requiredMessage = null)
    {
        var input = new JsonObject { ["type"] = "Input.Text", ["id"] = id, ["label"] = label, ["maxLength"] = maxLength };
        if (multiline)
        {
            input["isMultiline"] = true;
        }

        if (requiredMessage is not null)
        {
            input["isRequired"] = true;
            input["errorMessage"] = requiredMessage;
        }

        if (!string.IsNullOrEmpty(value))
        {
            input["value"] = value;
        }

        return input;
    }

    public static JsonObject Choices(string id, string label, string value, IEnumerable<(string Title, string Value)> choices) => new()
    {
        ["type"] = "Input.ChoiceSet",
        ["id"] = id,
        ["label"] = label,
        ["style"] = "compact",
        ["value"] = value,
        ["choices"] = new JsonArray(choices.Select(c => (JsonNode)new JsonObject { ["title"] = c.Title, ["value"] = c.Value }).ToArray()),
    };

    /// <summary>
    /// Teams' people picker: searches the organisation's users; the value is the Entra object id (comma-separated
    /// when <paramref name="multiSelect"/>), and a <paramref name="value"/> preselects people.
    /// </summary>
    public static JsonObject PeoplePicker(string id, string label, bool required = true, bool multiSelect = false, string? value = null)
    {
        var picker = new JsonObject
        {
            ["type"] = "Input.ChoiceSet",
            ["id"] = id,
            ["label"] = label,
            ["choices"] = new JsonArray(),
            ["choices.data"] = new JsonObject { ["type"] = "Data.Query", ["dataset"] = "graph.microsoft.com/users" },
        };
        if (required)
        {
            picker["isRequired"] = true;
            picker["errorMessage"] = "Pick a person";
        }

        if (multiSelect)
        {
            picker["isMultiSelect"] = true;
        }

        if (!string.IsNullOrEmpty(value))
        {
            picker["value"] = value;
        }

        return picker;
    }
}
