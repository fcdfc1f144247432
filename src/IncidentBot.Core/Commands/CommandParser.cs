using System.Globalization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Commands;

/// <summary>The outcome of parsing: a command, or a message for the user explaining what was wrong.</summary>
public sealed record ParseResult(ChatCommand? Command, string? Error)
{
    public bool Succeeded => Command is not null;

    public static ParseResult Ok(ChatCommand command) => new(command, null);

    public static ParseResult Fail(string error) => new(null, error);
}

/// <summary>Parses the command grammar shared by every chat front-end.</summary>
public static class CommandParser
{
    /// <param name="text">What followed the trigger, e.g. <c>declare sev1 Checkout is down</c>.</param>
    /// <param name="trigger">How the user invokes the bot (e.g. <c>/incident </c>), used in usage messages.</param>
    public static ParseResult Parse(string? text, string trigger = "")
    {
        var rest = (text ?? string.Empty).Trim();
        if (rest.Length == 0)
        {
            return ParseResult.Ok(new HelpCommand());
        }

        var verbName = TakeWord(ref rest).ToLowerInvariant();
        var verb = CommandGrammar.Find(verbName);
        if (verb is null)
        {
            return ParseResult.Fail($"I don't know `{verbName}`.\n{CommandGrammar.HelpText(trigger)}");
        }

        IncidentNumber? number = null;
        if (verb.TakesIncident && LooksLikeIncidentNumber(PeekWord(rest), out var named))
        {
            TakeWord(ref rest);
            number = named;
        }

        var usage = CommandGrammar.UsageOf(verb.Name, trigger);
        ChatCommand? command = verb.Name switch
        {
            "declare" => ParseDeclare(rest),
            "role" => ParseRole(rest),
            "sev" => SeverityText.TryParse(rest, out var severity) ? new ChangeSeverityCommand(severity) : null,
            "status" => IncidentStatusText.TryParse(rest, out var status) ? new ChangeStatusCommand(status) : null,
            "update" => rest.Length > 0 ? new PostUpdateCommand(rest) : null,
            "note" => rest.Length > 0 ? new AddNoteCommand(rest) : null,
            "ack" => rest.Length == 0 ? new AcknowledgeCommand() : null,
            "page" => ParsePage(rest),
            "snooze" => ParseSnooze(rest),
            "action" => ParseAction(rest),
            "resolve" => new ResolveCommand(rest.Length > 0 ? rest : null),
            "reopen" => rest.Length == 0 ? new ReopenCommand() : null,
            "private" => rest.Length == 0 ? new MakePrivateCommand() : null,
            "timeline" => rest.Length == 0 ? new ShowTimelineCommand() : null,
            "postmortem" => rest.Length == 0 ? new ShowPostmortemCommand() : null,
            "bridge" => rest.Length == 0 ? new BridgeCommand() : null,
            "link" => IncidentNumber.TryParse(rest, out var target) ? new LinkCommand(target) : null,
            "list" => new ListCommand(),
            "help" => new HelpCommand(),
            _ => null,
        };

        return command is null ? ParseResult.Fail(usage) : ParseResult.Ok(command with { Number = number });
    }

    /// <summary>Mention tokens (<c>&lt;@id&gt;</c>, <c>&lt;@id|name&gt;</c>) and <c>@name</c> refer to users.</summary>
    public static bool IsUserToken(string token) =>
        token.Equals("me", StringComparison.OrdinalIgnoreCase) ||
        token.StartsWith('@') && token.Length > 1 ||
        token.StartsWith("<@", StringComparison.Ordinal) && token.EndsWith('>');

    private static ChatCommand? ParseDeclare(string rest)
    {
        var isPrivate = PeekWord(rest).Equals("private", StringComparison.OrdinalIgnoreCase);
        if (isPrivate)
        {
            TakeWord(ref rest);
        }

        if (rest.Length == 0)
        {
            return new OpenDeclareFormCommand(isPrivate);
        }

        var first = PeekWord(rest);
        Severity? severity = null;
        if (first.StartsWith("sev", StringComparison.OrdinalIgnoreCase) && SeverityText.TryParse(first, out var parsed))
        {
            severity = parsed;
            TakeWord(ref rest);
        }

        return rest.Length > 0 ? new DeclareCommand(severity, rest, isPrivate) : null;
    }

    private static AssignRoleCommand? ParseRole(string rest)
    {
        if (!IncidentRoleText.TryParse(TakeWord(ref rest), out var role))
        {
            return null;
        }

        return rest.Length > 0 && IsUserToken(rest) ? new AssignRoleCommand(role, rest) : null;
    }

    private static PageCommand? ParsePage(string rest)
    {
        if (rest.Length == 0)
        {
            return new PageCommand(null, null);
        }

        if (int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var level) && level >= 1)
        {
            return new PageCommand(level, null);
        }

        return IsUserToken(rest) ? new PageCommand(null, rest) : null;
    }

    private static SnoozeCommand? ParseSnooze(string rest)
    {
        var digits = rest.EndsWith('m') ? rest[..^1] : rest;
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) && minutes > 0
            ? new SnoozeCommand(minutes)
            : null;
    }

    private static AddActionItemCommand? ParseAction(string rest)
    {
        if (rest.Length == 0)
        {
            return null;
        }

        var lastSpace = rest.LastIndexOf(' ');
        if (lastSpace > 0 && IsUserToken(rest[(lastSpace + 1)..]) && !rest[(lastSpace + 1)..].Equals("me", StringComparison.OrdinalIgnoreCase))
        {
            return new AddActionItemCommand(rest[..lastSpace].TrimEnd(), rest[(lastSpace + 1)..]);
        }

        return new AddActionItemCommand(rest, null);
    }

    // A bare number is never taken as an incident number here: `sev 2` means severity 2.
    private static bool LooksLikeIncidentNumber(string word, out IncidentNumber number)
    {
        number = default;
        return (word.StartsWith(IncidentNumber.Prefix, StringComparison.OrdinalIgnoreCase) || word.StartsWith('#')) &&
            IncidentNumber.TryParse(word, out number);
    }

    private static string PeekWord(string text)
    {
        var end = text.IndexOfAny([' ', '\t', '\n']);
        return end < 0 ? text : text[..end];
    }

    private static string TakeWord(ref string text)
    {
        var word = PeekWord(text);
        text = text[word.Length..].TrimStart();
        return word;
    }
}
