using System.Net;
using System.Text.RegularExpressions;
using IncidentBot.Teams.Schema;

namespace IncidentBot.Teams.Inbound;

/// <summary>A message's text as commands and the timeline see it.</summary>
/// <param name="MentionsBot">The bot was @mentioned.</param>
/// <param name="Text">The bot's mention removed, other mentions as Core mention tokens (<c>&lt;@id&gt;</c>), markup removed.</param>
/// <param name="Mentions">The people mentioned, by id.</param>
public sealed record MessageText(bool MentionsBot, string Text, IReadOnlyDictionary<string, ChannelAccount> Mentions)
{
    /// <summary>An activity without text.</summary>
    public static MessageText None { get; } = new(false, "", new Dictionary<string, ChannelAccount>());

    public static MessageText From(Activity activity)
    {
        var text = activity.Text ?? "";
        var botId = activity.Recipient?.Id;
        var mentionsBot = false;
        var mentions = new Dictionary<string, ChannelAccount>(StringComparer.OrdinalIgnoreCase);
        foreach (var entity in activity.Entities ?? [])
        {
            if (!string.Equals(entity.Type, "mention", StringComparison.OrdinalIgnoreCase) || entity.Mentioned?.Id is not { Length: > 0 } id)
            {
                continue;
            }

            var isBot = string.Equals(id, botId, StringComparison.OrdinalIgnoreCase);
            mentionsBot |= isBot;
            if (!isBot)
            {
                mentions[id] = entity.Mentioned;
            }

            if (entity.Text is { Length: > 0 } mentionText)
            {
                text = Regex.Replace(text, Regex.Escape(mentionText), isBot ? " " : $" <@{id}> ", RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
            }
        }

        return new MessageText(mentionsBot, Clean(text), mentions);
    }

    /// <summary>Teams sends HTML in channel posts and message payloads; keep the words and Core's mention tokens.</summary>
    public static string Clean(string? html)
    {
        if (string.IsNullOrEmpty(html))
        {
            return "";
        }

        var text = Regex.Replace(html, @"<(br|/p|/div)\s*/?>", "\n", RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1));
        text = Regex.Replace(text, @"<(?!@)[^>]*>", "", RegexOptions.None, TimeSpan.FromSeconds(1));
        text = WebUtility.HtmlDecode(text).Replace('\u00a0', ' ');
        text = Regex.Replace(text, @"[ \t]+", " ", RegexOptions.None, TimeSpan.FromSeconds(1));
        return Regex.Replace(text, @" ?\n ?", "\n", RegexOptions.None, TimeSpan.FromSeconds(1)).Trim();
    }
}
