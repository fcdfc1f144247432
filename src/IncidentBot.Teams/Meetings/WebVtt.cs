using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace IncidentBot.Teams.Meetings;

/// <summary>One spoken line of a transcript: who, when (from the start of the recording) and what.</summary>
public sealed record TranscriptLine(TimeSpan Offset, string Speaker, string Text);

/// <summary>
/// Reads the WebVTT Teams serves for a meeting transcript: cues of <c>&lt;v Speaker&gt;text&lt;/v&gt;</c>, one speaker
/// per voice span, consecutive cues of one speaker joined into one line.
/// </summary>
public static partial class WebVtt
{
    public static IReadOnlyList<TranscriptLine> Parse(string vtt)
    {
        ArgumentNullException.ThrowIfNull(vtt);
        var lines = new List<TranscriptLine>();
        var blocks = vtt.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        foreach (var block in blocks)
        {
            var rows = block.Split('\n');
            var timing = Array.FindIndex(rows, r => r.Contains("-->", StringComparison.Ordinal));
            if (timing < 0)
            {
                continue;
            }

            var offset = ParseTime(rows[timing][..rows[timing].IndexOf("-->", StringComparison.Ordinal)].Trim());
            var payload = string.Join(' ', rows.Skip(timing + 1)).Trim();
            var voices = Voice().Matches(payload);
            var spoken = voices.Count == 0
                ? [("Someone", payload)]
                : voices.Select(v => (Speaker: v.Groups["speaker"].Value.Trim(), Text: v.Groups["text"].Value)).ToList();
            foreach (var (speaker, raw) in spoken)
            {
                var text = WebUtility.HtmlDecode(Tag().Replace(raw, "")).Trim();
                if (text.Length == 0)
                {
                    continue;
                }

                if (lines.Count > 0 && lines[^1].Speaker == speaker)
                {
                    lines[^1] = lines[^1] with { Text = $"{lines[^1].Text} {text}" };
                }
                else
                {
                    lines.Add(new TranscriptLine(offset, speaker.Length == 0 ? "Someone" : speaker, text));
                }
            }
        }

        return lines;
    }

    private static TimeSpan ParseTime(string value)
    {
        // Teams writes 00:00:05.320 and also 0:0:5.320; WebVTT allows mm:ss.ttt.
        var parts = value.Split(':');
        var seconds = double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 0;
        var minutes = parts.Length >= 2 && int.TryParse(parts[^2], CultureInfo.InvariantCulture, out var m) ? m : 0;
        var hours = parts.Length >= 3 && int.TryParse(parts[^3], CultureInfo.InvariantCulture, out var h) ? h : 0;
        return new TimeSpan(hours, minutes, 0) + TimeSpan.FromSeconds(seconds);
    }

    [GeneratedRegex(@"<v(?:\.[^\s>]*)?\s+(?<speaker>[^>]+)>(?<text>.*?)(?:</v>|(?=<v[\s.])|$)", RegexOptions.Singleline)]
    private static partial Regex Voice();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();
}
