using System.Text.Json.Nodes;

namespace IncidentBot.TestKit.Slack;

/// <summary>
/// Slack's documented Block Kit limits, checked the way the API does: a violation makes the fake answer
/// <c>invalid_blocks</c> (messages) or <c>invalid_arguments</c> (views), as Slack would.
/// </summary>
public static class BlockKitLimits
{
    public static string? CheckMessageBlocks(JsonArray? blocks) => blocks is null ? null : CheckBlocks(blocks, 50);

    public static string? CheckView(JsonObject? view)
    {
        if (view is null)
        {
            return "no view";
        }

        if (Text(view["title"]) is not { Length: > 0 and <= 24 })
        {
            return "title must be 1-24 chars";
        }

        foreach (var key in new[] { "submit", "close" })
        {
            if (view[key] is not null && Text(view[key]) is not { Length: > 0 and <= 24 })
            {
                return $"{key} must be 1-24 chars";
            }
        }

        var blocks = view["blocks"] as JsonArray ?? [];
        if (blocks.Any(b => (string?)b?["type"] == "input") && view["submit"] is null)
        {
            return "must define submit to use input block";
        }

        if (((string?)view["private_metadata"])?.Length > 3000)
        {
            return "private_metadata over 3000 chars";
        }

        return CheckBlocks(blocks, 100);
    }

    private static string? CheckBlocks(JsonArray blocks, int max)
    {
        if (blocks.Count > max)
        {
            return $"{blocks.Count} blocks; at most {max}";
        }

        for (var i = 0; i < blocks.Count; i++)
        {
            if (blocks[i] is not JsonObject block)
            {
                return $"block {i} is not an object";
            }

            if (CheckBlock(block) is { } error)
            {
                return $"block {i}: {error}";
            }
        }

        return null;
    }

    private static string? CheckBlock(JsonObject block)
    {
        if (((string?)block["block_id"])?.Length > 255)
        {
            return "block_id over 255";
        }

        switch ((string?)block["type"])
        {
            case "section":
                if (block["text"] is not null && Text(block["text"]) is not { Length: >= 1 and <= 3000 })
                {
                    return "section text must be 1-3000 chars";
                }

                if (block["fields"] is JsonArray fields && (fields.Count > 10 || fields.Any(f => Text(f) is not { Length: >= 1 and <= 2000 })))
                {
                    return "section fields: at most 10 of 1-2000 chars";
                }

                if (block["text"] is null && block["fields"] is null)
                {
                    return "section needs text or fields";
                }

                return block["accessory"] is JsonObject accessory ? CheckElement(accessory) : null;
            case "header":
                return Text(block["text"]) is { Length: >= 1 and <= 150 } ? null : "header text must be 1-150 chars";
            case "context":
                return block["elements"] is JsonArray { Count: >= 1 and <= 10 } context && context.All(e => Text(e) is null or { Length: <= 2000 })
                    ? null
                    : "context needs 1-10 elements";
            case "actions":
                if (block["elements"] is not JsonArray { Count: >= 1 and <= 25 } elements)
                {
                    return "actions need 1-25 elements";
                }

                return elements.OfType<JsonObject>().Select(CheckElement).FirstOrDefault(e => e is not null);
            case "input":
                if (Text(block["label"]) is not { Length: >= 1 and <= 2000 })
                {
                    return "input label must be 1-2000 chars";
                }

                return block["element"] is JsonObject element ? CheckElement(element) : "input needs an element";
            case "divider":
            case "image":
            case "rich_text":
                return null;
            case "markdown":
                return ((string?)block["text"])?.Length is >= 1 and <= 12000 ? null : "markdown text must be 1-12000 chars";
            default:
                return $"unknown block type {(string?)block["type"]}";
        }
    }

    private static string? CheckElement(JsonObject element)
    {
        if (((string?)element["action_id"])?.Length > 255)
        {
            return "action_id over 255";
        }

        if (element["placeholder"] is not null && Text(element["placeholder"]) is not { Length: <= 150 })
        {
            return "placeholder over 150";
        }

        switch ((string?)element["type"])
        {
            case "button":
                if (Text(element["text"]) is not { Length: >= 1 and <= 75 })
                {
                    return "button text must be 1-75 chars";
                }

                return ((string?)element["value"])?.Length > 2000 ? "button value over 2000" : null;
            case "static_select":
            case "multi_static_select":
            case "overflow":
                var options = element["options"] as JsonArray ?? [];
                if (options.Count is < 1 or > 100 || (string?)element["type"] == "overflow" && options.Count > 5)
                {
                    return "select needs 1-100 options (overflow 5)";
                }

                return options.Concat(element["initial_option"] is { } initial ? [initial] : [])
                    .Any(o => Text(o?["text"]) is not { Length: >= 1 and <= 75 } || ((string?)o?["value"])?.Length is not (>= 1 and <= 150))
                    ? "option text must be 1-75 chars and value 1-150"
                    : null;
            case "checkboxes":
                var boxes = element["options"] as JsonArray ?? [];
                var initialBoxes = element["initial_options"] as JsonArray ?? [];
                if (boxes.Count is < 1 or > 10)
                {
                    return "checkboxes need 1-10 options";
                }

                return boxes.Concat(initialBoxes).Any(o => Text(o?["text"]) is not { Length: >= 1 and <= 75 } || ((string?)o?["value"])?.Length is not (>= 1 and <= 150)) ||
                    initialBoxes.Any(i => !boxes.Any(o => JsonNode.DeepEquals(o, i)))
                    ? "checkbox option text must be 1-75 chars, value 1-150, initial options among the options"
                    : null;
            default:
                return null;
        }
    }

    private static string? Text(JsonNode? node) => node switch
    {
        JsonObject o => (string?)o["text"],
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => null,
    };
}
