using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Outbound;
using IncidentBot.Teams.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams.Handlers;

/// <summary>
/// Declares from Teams, by command or by the declare form: the conversation becomes the war room itself when there is no
/// incidents channel (or it is a meeting chat); otherwise the war room opens as a thread or channel of its own.
/// </summary>
public sealed partial class IncidentDeclarer(
    IncidentService incidents,
    TeamsStore store,
    TeamsUserDirectory users,
    ReplySender replies,
    IOptions<TeamsOptions> options,
    ILogger<IncidentDeclarer> logger)
{
    /// <summary>Why Teams cannot open a private incident's chat: Graph is not set up for it.</summary>
    public static readonly string PrivateNotConfigured =
        $"Private incidents in Teams need Microsoft Graph: ask an admin to set {TeamsOptions.PrivateChatKeys} and grant the app "
        + "Chat.Create and TeamsAppInstallation.ReadWriteAndConsentSelfForChat.All (see the README).";

    /// <summary>Why Teams cannot open a private incident's chat: a group chat needs two people.</summary>
    public const string PrivateTooFewPeople =
        "A private incident's chat needs at least two people: name its commander or responders in the form (or ask an admin to set Teams:PrivateChatFallbackMemberId).";

    /// <summary>Why a private incident's chat could not be made for these people, or null when it can.</summary>
    public string? PrivateRefusal(Person declarer, Person? commander, IReadOnlyList<Person> responders) =>
        !options.Value.HasPrivateChats ? PrivateNotConfigured
        : PrivateChatOpener.MemberIds([declarer, commander, .. responders], options.Value).Count < PrivateChatOpener.MinimumMembers ? PrivateTooFewPeople
        : null;

    public async Task<CommandReply> DeclareAsync(DeclareRequest request, TeamsTurn turn, CancellationToken cancellationToken)
    {
        if (request.IsPrivate && PrivateRefusal(turn.From, request.Commander, request.Responders) is { } refusal)
        {
            LogPrivateRefused(logger, refusal);
            return new CommandReply(ReplyKind.Error, refusal);
        }

        // A private incident's war room is a chat of its own, never the conversation it was declared in.
        var here = !request.IsPrivate && await DeclaresHereAsync(turn.Room, cancellationToken);
        try
        {
            var declared = await incidents.DeclareAsync(here ? request with { WarRoom = turn.Actor.Origin } : request, turn.Actor, cancellationToken);
            if (declared.Incident.IsPrivate)
            {
                // Seen by everyone in this conversation: the number only.
                return new CommandReply(ReplyKind.Declared,
                    $"🔒 {declared.Incident.Number}: a private incident was declared. You and the people named are added to its private chat.")
                { Incident = declared.Incident };
            }

            var opens = here ? ""
                : options.Value.WarRoom == WarRoomMode.Channel ? " The war room opens as a new channel of its own."
                : " The war room opens as a new thread in the incidents channel.";
            return new CommandReply(ReplyKind.Declared, declared.Message + opens) { Incident = declared.Incident };
        }
        catch (IncidentRuleException rule)
        {
            return new CommandReply(ReplyKind.Error, rule.Message);
        }
    }

    /// <summary>
    /// The declare form, as Slack's declare modal: the commander assigned, the responders named in the declaration. Answers
    /// in the conversation, @mentioning them; an invalid form comes back as <c>Form</c> with the error and what was entered.
    /// </summary>
    public async Task<(CommandReply Reply, JsonObject? Form)> SubmitFormAsync(DeclareFormValues form, TeamsTurn turn, CancellationToken cancellationToken)
    {
        (CommandReply, JsonObject?) Invalid(string error)
        {
            LogInvalidForm(logger, error);
            return (new CommandReply(ReplyKind.Error, error), IncidentCards.DeclareForm(form, error));
        }

        if (string.IsNullOrWhiteSpace(form.Title))
        {
            return Invalid("Give the incident a title.");
        }

        var severity = CommandDispatcher.DefaultSeverity;
        if (!string.IsNullOrWhiteSpace(form.Severity) && !SeverityText.TryParse(form.Severity, out severity))
        {
            return Invalid($"Unknown severity '{form.Severity}'; pick SEV1 to SEV4.");
        }

        Person? commander = null;
        if (!string.IsNullOrEmpty(form.Commander) && (commander = await users.FindAsync(form.Commander, turn, null, cancellationToken)) is null)
        {
            return Invalid("I can't find the person picked as incident commander.");
        }

        var responders = new List<Person>();
        foreach (var id in form.Responders)
        {
            if (await users.FindAsync(id, turn, null, cancellationToken) is not { } responder)
            {
                return Invalid("I can't find one of the responders picked.");
            }

            responders.Add(responder);
        }

        var request = new DeclareRequest(form.Title, severity, string.IsNullOrWhiteSpace(form.Description) ? null : form.Description.Trim())
        {
            Commander = commander,
            Responders = responders,
            IsPrivate = form.Private,
        };
        var reply = await DeclareAsync(request, turn, cancellationToken);
        if (reply.Kind == ReplyKind.Error)
        {
            return Invalid(reply.Text);
        }

        if (form.Private)
        {
            // Nobody is named where everyone sees it; they meet in the private chat.
            replies.Answer(turn, TeamsRenderer.Text(reply.Text));
            return (reply, null);
        }

        List<Person> people = commander is null ? responders : [commander, .. responders];
        replies.Answer(turn, TeamsRenderer.Mentioning(reply.Text + People(commander, responders), people));
        return (reply, null);
    }

    private static string People(Person? commander, List<Person> responders) =>
        (commander is null ? "" : $"\nIncident commander: {TeamsRenderer.MentionText(commander)}") +
        (responders.Count == 0 ? "" : $"\nResponders: {string.Join(", ", responders.Select(TeamsRenderer.MentionText))}");

    private async Task<bool> DeclaresHereAsync(string room, CancellationToken cancellationToken)
    {
        if (options.Value.WarRoom == WarRoomMode.Thread && string.IsNullOrWhiteSpace(options.Value.IncidentsChannelId))
        {
            return true;
        }

        // A meeting chat becomes a war room too, beside the thread in the incidents channel or the incident's own channel.
        return (await store.GetConversationAsync(room, cancellationToken))?.MeetingId is not null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: private declare refused: {Reason}")]
    private static partial void LogPrivateRefused(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Teams: declare form refused: {Error}")]
    private static partial void LogInvalidForm(ILogger logger, string error);
}
