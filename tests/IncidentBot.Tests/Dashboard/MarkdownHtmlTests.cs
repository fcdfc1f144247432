using IncidentBot.Dashboard;

namespace IncidentBot.Tests.Dashboard;

/// <summary>The postmortem draft as the dashboard shows it: Markdig output that the page's CSP and the war room's text cannot subvert.</summary>
public sealed class MarkdownHtmlTests
{
    [Fact]
    public void Render_PostmortemShapes_HeadingsShiftedTablesWrappedListsAndEmphasis()
    {
        var html = MarkdownHtml.Render("""
            # INC-2: Payments failing

            ## Response metrics

            | Metric | Value |
            |:---|---:|
            | Time to acknowledge | 3 min |

            - **Severity:** SEV1
            - _Fill in_ `action`

            1. first
            2. second

            > quoted
            """);

        Assert.Contains("<h2", html);
        Assert.Contains("<h3", html);
        Assert.DoesNotContain("<h1", html);
        Assert.Contains("<div class=\"table-wrap\"><table>", html);
        Assert.Contains("<th>Metric</th>", html);
        Assert.Contains("<td>Time to acknowledge</td>", html);
        Assert.Contains("<strong>Severity:</strong>", html);
        Assert.Contains("<em>Fill in</em>", html);
        Assert.Contains("<code>action</code>", html);
        Assert.Contains("<ol>", html);
        Assert.Contains("<blockquote>", html);
        Assert.DoesNotContain("style=", html);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "<script")]
    [InlineData("<img src=x onerror=alert(1)>", "<img")]
    [InlineData("[click](javascript:alert(1))", "href=\"javascript:")]
    [InlineData("[click](data:text/html;base64,PHNjcmlwdD4=)", "href=\"data:")]
    [InlineData("<javascript:alert(1)>", "href=\"javascript:")]
    [InlineData("![x](javascript:alert(1))", "src=\"javascript:")]
    public void Render_WarRoomTextWithMarkupOrScriptLinks_StaysInert(string said, string forbidden)
    {
        var html = MarkdownHtml.Render($"| Time | What |\n|---|---|\n| 10:00 | {said} |\n\n{said}\n");

        Assert.DoesNotContain(forbidden, html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Render_HttpsAndLocalLinks_AreKept()
    {
        var html = MarkdownHtml.Render("[incident](https://incidents.example.com/incidents/INC-2) and [home](/)");

        Assert.Contains("href=\"https://incidents.example.com/incidents/INC-2\"", html);
        Assert.Contains("href=\"/\"", html);
    }
}
