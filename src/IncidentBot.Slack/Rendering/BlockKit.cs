using System.Text.Json.Nodes;

namespace IncidentBot.Slack.Rendering;

/// <summary>Block Kit builders that stay within Slack's documented limits by truncating, never by failing.</summary>
public static class BlockKit
{
    public const int MaxMessageBlocks = 50;
    public const int MaxViewBlocks = 100;
    public const int MaxSectionText = 3000;
    public const int MaxHeaderText = 150;
    public const int MaxButtonText = 75;
    public const int MaxOptionText = 75;
    public const int MaxOptionValue = 75;
    public const int MaxActionElements = 25;
    public const int MaxContextElements = 10;
    public const int MaxViewTitle = 24;
    public const int MaxMessageText = 4000;
    public const int MaxPlaceholder = 150;
    public const int MaxPrivateMetadata = 3000;

    /// <summary>Cuts at a character boundary (never inside a surrogate pair) and marks the cut with an ellipsis.</summary>
    public static string Truncate(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var cut = max - 1;
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return string.Concat(text.AsSpan(0, cut), "…");
    }

    /// <summary>Escapes the three characters Slack's mrkdwn reserves.</summary>
    public static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    public static JsonObject PlainText(string text, int max) => new() { ["type"] = "plain_text", ["text"] = Truncate(text.Length == 0 ? " " : text, max), ["emoji"] = true };

    public static JsonObject Mrkdwn(string text, int max = MaxSectionText) => new() { ["type"] = "mrkdwn", ["text"] = Truncate(text.Length == 0 ? " " : text, max) };

    public static JsonObject Header(string text) => new() { ["type"] = "header", ["text"] = PlainText(text, MaxHeaderText) };

    public static JsonObject Section(string mrkdwn, string? blockId = null)
    {
        var section = new JsonObject { ["type"] = "section", ["text"] = Mrkdwn(mrkdwn) };
        if (blockId is not null)
        {
            section["block_id"] = blockId;
        }

        return section;
    }

    public static JsonObject Fields(IEnumerable<string> fields) => new()
    {
        ["type"] = "section",
        ["fields"] = new JsonArray(fields.Take(10).Select(f => (JsonNode)Mrkdwn(f, 2000)).ToArray()),
    };

    public static JsonObject Context(params string[] texts) => new()
    {
        ["type"] = "context",
        ["elements"] = new JsonArray(texts.Take(MaxContextElements).Select(t => (JsonNode)Mrkdwn(t, 2000)).ToArray()),
    };

    public static JsonObject Divider() => new() { ["type"] = "divider" };

    public static JsonObject Actions(string blockId, IEnumerable<JsonObject> elements) => new()
    {
        ["type"] = "actions",
        ["block_id"] = blockId,
        ["elements"] = new JsonArray(elements.Take(MaxActionElements).Select(e => (JsonNode)e).ToArray()),
    };

    public static JsonObject Button(string text, string actionId, string value, string? style = null)
    {
        var button = new JsonObject { ["type"] = "button", ["text"] = PlainText(text, MaxButtonText), ["action_id"] = actionId, ["value"] = Truncate(value, 2000) };
        if (style is not null)
        {
            button["style"] = style;
        }

        return button;
    }

    public static JsonObject Option(string text, string value) => new() { ["text"] = PlainText(text, MaxOptionText), ["value"] = Truncate(value, MaxOptionValue) };

    public static JsonObject Checkboxes(string actionId, IReadOnlyList<JsonObject> options, IReadOnlyList<JsonObject> initial)
    {
        var element = new JsonObject { ["type"] = "checkboxes", ["action_id"] = actionId, ["options"] = new JsonArray(options.Select(o => (JsonNode)o.DeepClone()).ToArray()) };
        if (initial.Count > 0)
        {
            element["initial_options"] = new JsonArray(initial.Select(o => (JsonNode)o.DeepClone()).ToArray());
        }

        return element;
    }

    public static JsonObject StaticSelect(string actionId, string placeholder, IEnumerable<JsonObject> options, JsonObject? initial = null)
    {
        var select = new JsonObject
        {
            ["type"] = "static_select",
            ["action_id"] = actionId,
            ["placeholder"] = PlainText(placeholder, MaxPlaceholder),
            ["options"] = new JsonArray(options.Take(100).Select(o => (JsonNode)o).ToArray()),
        };
        if (initial is not null)
        {
            select["initial_option"] = initial;
        }

        return select;
    }

    public static JsonObject UsersSelect(string actionId, string placeholder, string? initialUser = null)
    {
        var select = new JsonObject { ["type"] = "users_select", ["action_id"] = actionId, ["placeholder"] = PlainText(placeholder, MaxPlaceholder) };
        if (initialUser is not null)
        {
            select["initial_user"] = initialUser;
        }

        return select;
    }

    public static JsonObject Input(string blockId, string label, JsonObject element, bool optional = false) => new()
    {
        ["type"] = "input",
        ["block_id"] = blockId,
        ["label"] = PlainText(label, 2000),
        ["element"] = element,
        ["optional"] = optional,
    };

    /// <summary>
    /// A block list of at most <paramref name="max"/> blocks: when more were given, the tail is replaced by
    /// one context line saying how many were left out.
    /// </summary>
    public static JsonArray Limit(IReadOnlyList<JsonObject> blocks, int max = MaxMessageBlocks, string what = "entries")
    {
        if (blocks.Count <= max)
        {
            return new JsonArray(blocks.Select(b => (JsonNode)b).ToArray());
        }

        var kept = blocks.Take(max - 1).Select(b => (JsonNode)b).ToList();
        kept.Add(Context($"… {blocks.Count - (max - 1)} more {what} not shown."));
        return new JsonArray(kept.ToArray());
    }
}
