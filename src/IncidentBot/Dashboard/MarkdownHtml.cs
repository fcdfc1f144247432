using System.Text;
using System.Text.RegularExpressions;

namespace IncidentBot.Dashboard;

/// <summary>
/// Renders the Markdown subset the postmortem draft uses (headings, tables, lists, block quotes, emphasis,
/// paragraphs) to HTML. Text is encoded first, so nothing in the draft can inject markup.
/// </summary>
internal static partial class MarkdownHtml
{
    public static string Render(string markdown)
    {
        var html = new StringBuilder();
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (HeadingPattern().Match(line) is { Success: true } heading)
            {
                var level = heading.Groups[1].Length + 1; // the page already has an h1
                html.Append($"<h{level}>{Inline(heading.Groups[2].Value)}</h{level}>\n");
            }
            else if (line.StartsWith('|'))
            {
                var rows = TakeWhile(lines, ref i, l => l.StartsWith('|'));
                html.Append(Table(rows));
            }
            else if (line.StartsWith("> ", StringComparison.Ordinal))
            {
                var quote = TakeWhile(lines, ref i, l => l.StartsWith("> ", StringComparison.Ordinal));
                html.Append("<blockquote>").Append(string.Join("<br>", quote.Select(q => Inline(q[2..])))).Append("</blockquote>\n");
            }
            else if (line.StartsWith("- ", StringComparison.Ordinal) || line == "-")
            {
                var items = TakeWhile(lines, ref i, l => l.StartsWith("- ", StringComparison.Ordinal) || l == "-");
                html.Append("<ul>").Append(string.Concat(items.Select(it => $"<li>{Inline(it.Length > 2 ? it[2..] : "")}</li>"))).Append("</ul>\n");
            }
            else if (OrderedPattern().IsMatch(line))
            {
                var items = TakeWhile(lines, ref i, l => OrderedPattern().IsMatch(l));
                html.Append("<ol>").Append(string.Concat(items.Select(it => $"<li>{Inline(OrderedPattern().Replace(it, ""))}</li>"))).Append("</ol>\n");
            }
            else
            {
                html.Append("<p>").Append(Inline(line)).Append("</p>\n");
            }
        }

        return html.ToString();
    }

    private static List<string> TakeWhile(string[] lines, ref int i, Func<string, bool> belongs)
    {
        var taken = new List<string>();
        while (i < lines.Length && belongs(lines[i]))
        {
            taken.Add(lines[i++]);
        }

        i--;
        return taken;
    }

    private static string Table(List<string> rows)
    {
        var cells = rows.Where(r => !SeparatorPattern().IsMatch(r)).Select(SplitRow).ToList();
        var html = new StringBuilder("<div class=\"table-wrap\"><table>");
        for (var r = 0; r < cells.Count; r++)
        {
            var tag = r == 0 ? "th" : "td";
            html.Append("<tr>").Append(string.Concat(cells[r].Select(c => $"<{tag}>{Inline(c)}</{tag}>"))).Append("</tr>");
        }

        return html.Append("</table></div>\n").ToString();
    }

    private static List<string> SplitRow(string row)
    {
        // Cells are separated by unescaped pipes; "\|" is a literal pipe inside a cell.
        var cells = new List<string>();
        var current = new StringBuilder();
        for (var i = 1; i < row.Length; i++)
        {
            if (row[i] == '\\' && i + 1 < row.Length && row[i + 1] == '|')
            {
                current.Append('|');
                i++;
            }
            else if (row[i] == '|')
            {
                cells.Add(current.ToString().Trim());
                current.Clear();
            }
            else
            {
                current.Append(row[i]);
            }
        }

        return cells;
    }

    private static string Inline(string text)
    {
        var encoded = Html.E(text);
        encoded = BoldPattern().Replace(encoded, "<strong>$1</strong>");
        encoded = ItalicPattern().Replace(encoded, "<em>$1</em>");
        return CodePattern().Replace(encoded, "<code>$1</code>");
    }

    [GeneratedRegex(@"^(#{1,4}) (.+)$")]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"^\d+\. ")]
    private static partial Regex OrderedPattern();

    [GeneratedRegex(@"^\|(\s*-+\s*\|)+$")]
    private static partial Regex SeparatorPattern();

    [GeneratedRegex(@"\*\*(.+?)\*\*")]
    private static partial Regex BoldPattern();

    [GeneratedRegex(@"(?<![\w])_(.+?)_(?![\w])")]
    private static partial Regex ItalicPattern();

    [GeneratedRegex(@"`([^`]+)`")]
    private static partial Regex CodePattern();
}
