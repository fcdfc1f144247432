using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
using IncidentBot.Core.WarRooms;

namespace IncidentBot.Core.Commands;

/// <summary>Where a command came from and how that front-end names users.</summary>
/// <param name="Actor">Who typed it, and in which conversation.</param>
/// <param name="Trigger">How users invoke the bot there, e.g. <c>/incident </c>; used in usage messages.</param>
/// <param name="ResolveUser">Turns a user token (<c>me</c>, a mention) into a person; null when unknown.</param>
public sealed record CommandContext(Actor Actor, string Trigger, Func<string, CancellationToken, Task<Person?>> ResolveUser);

public enum ReplyKind
{
    /// <summary>A rule was broken or the input was malformed; show the text to the user only.</summary>
    Error,

    /// <summary>
    /// <see cref="IncidentAccess"/> refused the command; show the text to the user only, with a pointer to the war
    /// rooms of <see cref="CommandReply.Incident"/> when it is set (never for a private incident).
    /// </summary>
    Refused,
    Help,
    List,
    DeclareForm,
    Declared,
    Changed,
    Timeline,
    Postmortem,
}

/// <summary>What the front-end renders in answer to a command.</summary>
public sealed record CommandReply(ReplyKind Kind, string Text)
{
    public Incident? Incident { get; init; }
    public IReadOnlyList<TimelineEntry> Timeline { get; init; } = [];
    public IReadOnlyList<Incident> Incidents { get; init; } = [];
}

/// <summary>Runs parsed commands against <see cref="IncidentService"/>; every front-end goes through here.</summary>
public sealed class CommandDispatcher(IncidentService incidents, IIncidentStore store, IncidentAccess access, IncidentLinks? links = null, IMeetingBridges? bridges = null)
{
    /// <summary>The severity of <c>declare &lt;title&gt;</c> when none is given.</summary>
    public const Severity DefaultSeverity = Severity.Sev3;

    /// <summary>The answer to <c>bridge</c> on a bot that makes no meeting bridges.</summary>
    public const string BridgesOff = "Meeting bridges are off on this bot (its operator turns them on in the configuration), so no bridge was made.";

    public async Task<CommandReply> ExecuteAsync(string? text, CommandContext context, CancellationToken cancellationToken)
    {
        var parsed = CommandParser.Parse(text, context.Trigger);
        return parsed.Command is null
            ? new CommandReply(ReplyKind.Error, parsed.Error!)
            : await ExecuteAsync(parsed.Command, context, cancellationToken);
    }

    public async Task<CommandReply> ExecuteAsync(ChatCommand command, CommandContext context, CancellationToken cancellationToken)
    {
        try
        {
            return await RunAsync(command, context, cancellationToken);
        }
        catch (IncidentRuleException rule)
        {
            return new CommandReply(ReplyKind.Error, rule.Message);
        }
        catch (AccessRefusedException refused)
        {
            return new CommandReply(ReplyKind.Refused, refused.Message) { Incident = refused.Pointer };
        }
    }

    private async Task<CommandReply> RunAsync(ChatCommand command, CommandContext context, CancellationToken ct)
    {
        var actor = context.Actor;
        switch (command)
        {
            case HelpCommand:
                return new CommandReply(ReplyKind.Help, CommandGrammar.HelpText(context.Trigger));
            case ListCommand:
                var open = (await store.ListAsync(new IncidentQuery(OpenOnly: true), ct)).Where(i => IncidentAccess.CanSee(i, actor)).ToList();
                return new CommandReply(ReplyKind.List, open.Count == 0 ? "No open incidents." : $"{open.Count} open incident(s).") { Incidents = open };
            case OpenDeclareFormCommand:
                return new CommandReply(ReplyKind.DeclareForm, "Declare an incident");
            case DeclareCommand declare:
                var request = new DeclareRequest(declare.Title, declare.Severity ?? DefaultSeverity) { IsPrivate = declare.Private };
                var declared = await incidents.DeclareAsync(request, actor, ct);
                return Reply(ReplyKind.Declared, declared);
            case LinkCommand link:
                var room = actor.Origin ?? throw new IncidentRuleException("`link` works inside a conversation.");
                await access.EnsureAllowedAsync("link", IncidentAction.Link, await incidents.GetAsync(link.Target, ct), actor, ct);
                return Reply(ReplyKind.Changed, await incidents.LinkWarRoomAsync(link.Target, room, actor, ct));
        }

        var number = await ResolveIncidentAsync(command, context, ct);
        var (verb, permission) = Permission(command);
        var subject = await incidents.GetAsync(number, ct);
        await access.EnsureAllowedAsync(verb, permission, subject, actor, ct);
        switch (command)
        {
            case AssignRoleCommand role:
                var holder = await ResolveUserAsync(role.UserToken, context, ct);
                return Reply(ReplyKind.Changed, await incidents.AssignRoleAsync(number, role.Role, holder, actor, ct));
            case ChangeSeverityCommand sev:
                return Reply(ReplyKind.Changed, await incidents.ChangeSeverityAsync(number, sev.Severity, actor, ct));
            case ChangeStatusCommand status:
                return Reply(ReplyKind.Changed, await incidents.ChangeStatusAsync(number, status.Status, actor, ct));
            case PostUpdateCommand update:
                return Reply(ReplyKind.Changed, await incidents.PostUpdateAsync(number, update.Text, actor, ct));
            case AddNoteCommand note:
                return Reply(ReplyKind.Changed, await incidents.AddNoteAsync(subject, note.Text, actor, ct));
            case AcknowledgeCommand:
                return Reply(ReplyKind.Changed, await incidents.AcknowledgeAsync(number, actor, ct));
            case PageCommand page:
                var target = page.UserToken is null ? null : await ResolveUserAsync(page.UserToken, context, ct);
                return Reply(ReplyKind.Changed, await incidents.RequestPageAsync(number, page.Level, target, actor, ct));
            case SnoozeCommand snooze:
                return Reply(ReplyKind.Changed, await incidents.SnoozeAsync(number, snooze.Minutes, actor, ct));
            case AddActionItemCommand action:
                var owner = action.OwnerToken is null ? null : await ResolveUserAsync(action.OwnerToken, context, ct);
                return Reply(ReplyKind.Changed, await incidents.AddActionItemAsync(number, action.Text, owner, actor, ct));
            case ResolveCommand resolve:
                return Reply(ReplyKind.Changed, await incidents.ResolveAsync(number, resolve.Summary, actor, ct));
            case ReopenCommand:
                return Reply(ReplyKind.Changed, await incidents.ReopenAsync(number, actor, ct));
            case MakePrivateCommand:
                return Reply(ReplyKind.Changed, await incidents.MakePrivateAsync(number, actor, ct));
            case ShowTimelineCommand:
                var timeline = await store.GetTimelineAsync(subject.Id, ct);
                return new CommandReply(ReplyKind.Timeline, $"Timeline of {number}: {timeline.Count} entries.") { Incident = subject, Timeline = timeline };
            case BridgeCommand when bridges is not { Enabled: true }:
                return new CommandReply(ReplyKind.Error, BridgesOff);
            case BridgeCommand:
                return Reply(ReplyKind.Changed, await incidents.RequestBridgeAsync(number, actor, ct));
            case ShowPostmortemCommand:
                return new CommandReply(ReplyKind.Postmortem, PostmortemText(number)) { Incident = subject };
            default:
                throw new InvalidOperationException($"No handler for {command.GetType().Name}.");
        }
    }

    /// <summary>The verb (a fixed set, for the refusal metric) and what the command does to the incident.</summary>
    private static (string Verb, IncidentAction Action) Permission(ChatCommand command) => command switch
    {
        AssignRoleCommand => ("role", IncidentAction.Change),
        ChangeSeverityCommand => ("sev", IncidentAction.RoleChange),
        ChangeStatusCommand { Status: IncidentStatus.Resolved } => ("resolve", IncidentAction.RoleChange),
        ChangeStatusCommand => ("status", IncidentAction.Change),
        PostUpdateCommand => ("update", IncidentAction.Change),
        AddNoteCommand => ("note", IncidentAction.Change),
        AcknowledgeCommand => ("ack", IncidentAction.Change),
        PageCommand => ("page", IncidentAction.RoleChange),
        SnoozeCommand => ("snooze", IncidentAction.Change),
        AddActionItemCommand => ("action", IncidentAction.Change),
        ResolveCommand => ("resolve", IncidentAction.RoleChange),
        ReopenCommand => ("reopen", IncidentAction.Change),
        MakePrivateCommand => ("private", IncidentAction.Change),
        BridgeCommand => ("bridge", IncidentAction.Change),
        ShowTimelineCommand => ("timeline", IncidentAction.Read),
        ShowPostmortemCommand => ("postmortem", IncidentAction.Read),
        _ => throw new InvalidOperationException($"No permission for {command.GetType().Name}."),
    };

    private async Task<IncidentNumber> ResolveIncidentAsync(ChatCommand command, CommandContext context, CancellationToken ct)
    {
        if (command.Number is { } named)
        {
            return named;
        }

        var room = context.Actor.Origin;
        var incident = room is null ? null : await store.FindByWarRoomAsync(room, ct);
        return incident?.Number ?? throw new IncidentRuleException(
            $"This conversation is not an incident war room; name the incident: `{context.Trigger}status INC-42 resolved`.");
    }

    private static async Task<Person> ResolveUserAsync(string token, CommandContext context, CancellationToken ct)
    {
        if (token.Equals("me", StringComparison.OrdinalIgnoreCase))
        {
            return context.Actor.Person;
        }

        return await context.ResolveUser(token, ct) ?? throw new IncidentRuleException($"I can't find the user {token}.");
    }

    private string PostmortemText(IncidentNumber number) =>
        links?.IncidentPage(number) is { } page
            ? $"Postmortem draft for {number}: {page} (Markdown: {links.PostmortemMarkdown(number)})"
            : $"Postmortem draft for {number}: open /incidents/{number} on the dashboard (set Dashboard:PublicUrl to get a link here).";

    private static CommandReply Reply(ReplyKind kind, IncidentResult result) =>
        new(kind, result.Message) { Incident = result.Incident };
}
