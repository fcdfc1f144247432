using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Commands;

/// <summary>
/// A parsed chat command. <see cref="Number"/> is the incident named in the command, if any; without
/// it the command acts on the incident whose war room it was typed in. User references are raw tokens
/// (<c>me</c>, a mention token such as <c>&lt;@U123&gt;</c>, or <c>@name</c>) that the front-end resolves.
/// </summary>
public abstract record ChatCommand
{
    public IncidentNumber? Number { get; init; }
}

/// <param name="Private"><c>declare private …</c>: seen only inside its war rooms.</param>
public sealed record DeclareCommand(Severity? Severity, string Title, bool Private = false) : ChatCommand;

/// <summary><c>declare</c> (or <c>declare private</c>) with nothing after it: the front-end shows its declare form.</summary>
public sealed record OpenDeclareFormCommand(bool Private = false) : ChatCommand;

/// <summary><c>private</c>: the incident is private from now on.</summary>
public sealed record MakePrivateCommand : ChatCommand;

public sealed record AssignRoleCommand(IncidentRole Role, string UserToken) : ChatCommand;

public sealed record ChangeSeverityCommand(Severity Severity) : ChatCommand;

public sealed record ChangeStatusCommand(IncidentStatus Status) : ChatCommand;

public sealed record PostUpdateCommand(string Text) : ChatCommand;

public sealed record AddNoteCommand(string Text) : ChatCommand;

public sealed record AcknowledgeCommand : ChatCommand;

public sealed record PageCommand(int? Level, string? UserToken) : ChatCommand;

public sealed record SnoozeCommand(int Minutes) : ChatCommand;

public sealed record AddActionItemCommand(string Text, string? OwnerToken) : ChatCommand;

public sealed record ResolveCommand(string? Summary) : ChatCommand;

public sealed record ReopenCommand : ChatCommand;

public sealed record ShowTimelineCommand : ChatCommand;

public sealed record ShowPostmortemCommand : ChatCommand;

public sealed record LinkCommand(IncidentNumber Target) : ChatCommand;

/// <summary><c>bridge</c>: a new meeting bridge for the incident (where a front-end makes bridges).</summary>
public sealed record BridgeCommand : ChatCommand;

public sealed record ListCommand : ChatCommand;

public sealed record HelpCommand : ChatCommand;
