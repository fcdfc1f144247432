using Markdig;
using Markdig.Extensions.Tables;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace IncidentBot.Dashboard;

/// <summary>
/// Renders the postmortem draft's Markdown to HTML with Markdig. Raw HTML in the draft (which quotes what people
/// said in the war room) is shown as text, links go only to http(s), mail or this site, and nothing is styled
/// inline, so the output lives under the dashboard's Content-Security-Policy.
/// </summary>
internal static class MarkdownHtml
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseEmphasisExtras()
        .DisableHtml()
        .Build();

    public static string Render(string markdown)
    {
        var document = Markdown.Parse(markdown, Pipeline);
        foreach (var heading in document.Descendants<HeadingBlock>())
        {
            heading.Level = Math.Min(heading.Level + 1, 6); // the page already has an h1
        }

        foreach (var link in document.Descendants<LinkInline>())
        {
            if (!IsSafeLink(link.Url))
            {
                link.Url = "#";
            }
        }

        foreach (var autolink in document.Descendants<AutolinkInline>().Where(a => !a.IsEmail && !IsSafeLink(a.Url)).ToList())
        {
            autolink.ReplaceBy(new LiteralInline(autolink.Url));
        }

        foreach (var column in document.Descendants<Table>().SelectMany(t => t.ColumnDefinitions))
        {
            column.Alignment = null; // an aligned column would be written as an inline style
        }

        return document.ToHtml(Pipeline).Replace("<table>", "<div class=\"table-wrap\"><table>", StringComparison.Ordinal)
            .Replace("</table>", "</table></div>", StringComparison.Ordinal);
    }

    private static bool IsSafeLink(string? url) =>
        url is null
        || (url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal))
        || url.StartsWith('#')
        || (Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme is "https" or "http" or "mailto");
}
