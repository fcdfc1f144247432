using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Schema;

namespace IncidentBot.Teams.Cards;

/// <summary>Teams messages: plain text, a card, and the answer to a command.</summary>
public static class TeamsRenderer
{
    /// <summary>A plain message; long answers are cut well below Teams' message size limit.</summary>
    public static Activity Text(string text)
    {
        const int maxChars = 20_000;
        var body = text.Length <= maxChars ? text : string.Concat(text.AsSpan(0, maxChars - 1), "…");
        return new Activity { Type = ActivityTypes.Message, TextFormat = "markdown", Text = body.Replace("\n", "\n\n", StringComparison.Ordinal) };
    }

    public static Activity Card(JsonObject card) =>
        new() { Type = ActivityTypes.Message, Attachments = [new Attachment(IncidentCards.ContentType, card)] };

    /// <summary>
    /// A plain message that @mentions Teams people (<c>&lt;at&gt;</c> text and <c>mention</c> entities, which notify them);
    /// people from other platforms are named.
    /// </summary>
    public static Activity Mentioning(string text, IReadOnlyList<Person> people)
    {
        var mentioned = people.Where(p => p.Platform == TeamsIds.Platform).DistinctBy(p => p.UserId).ToList();
        return Text(text) with
        {
            Entities = mentioned.Count == 0 ? null : mentioned.Select(p => new Entity("mention")
            {
                Text = MentionText(p),
                Mentioned = new ChannelAccount(p.UserId, p.DisplayName),
            }).ToList(),
        };
    }

    public static string MentionText(Person person) =>
        person.Platform == TeamsIds.Platform ? $"<at>{person.DisplayName}</at>" : person.DisplayName;

    /// <summary>The answer to a command in the conversation it was typed in.</summary>
    public static Activity Reply(CommandReply reply, IncidentLinks links) => reply.Kind switch
    {
        ReplyKind.Postmortem when reply.Incident is { } incident && links.IncidentPage(incident.Number) is { } page =>
            Text($"📝 **Postmortem draft for {incident.Number}**: [open it on the dashboard]({page.AbsoluteUri})" +
                (links.PostmortemMarkdown(incident.Number) is { } markdown ? $" · [Markdown]({markdown.AbsoluteUri})" : "")),
        ReplyKind.DeclareForm => Card(IncidentCards.DeclareForm()),
        ReplyKind.Timeline => Text(reply.Text + "\n" + string.Join('\n', reply.Timeline.Select(e =>
            $"{e.OccurredAt.UtcDateTime:HH:mm} {(e.Pinned ? "📌 " : "")}{e.Kind.ToToken()} — {e.Author?.DisplayName ?? "IncidentBot"}: {e.Text}"))),
        ReplyKind.List => Text(reply.Text + "\n" + string.Join('\n', reply.Incidents.Select(i =>
            $"{i.Number} {i.Severity.ToLabel()} {i.Status.ToToken()}: {i.Title}"))),
        _ => Text(reply.Text),
    };
}
