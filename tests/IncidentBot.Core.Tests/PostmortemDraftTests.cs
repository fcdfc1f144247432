using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;

namespace IncidentBot.Core.Tests;

/// <summary>A SEV2 raised to SEV1 that starts before midnight and ends the next day, recorded through the engine.</summary>
public sealed class PostmortemDraftTests : EngineTests
{
    private static readonly ChatSpace WarRoom = new("chat", "C-WAR");

    private async Task<(string Markdown, Incident Incident)> SeedAsync()
    {
        // Declared 2026-11-20 23:50 UTC.
        var incident = await DeclareAsync(Severity.Sev2, "Payments | checkout failing");
        var n = incident.Number;
        await Incidents.LinkWarRoomAsync(n, WarRoom, AsAnn, default);
        await Incidents.AssignRoleAsync(n, IncidentRole.Commander, Ann, AsAnn, default);
        Clock.Advance(TimeSpan.FromMinutes(4));
        await Incidents.AcknowledgeAsync(n, new Actor(Bo), default);
        Clock.Advance(TimeSpan.FromMinutes(6));
        var messageAt = Clock.GetUtcNow();
        await Incidents.CaptureMessageAsync(new CapturedMessage(new MessageRef("chat", WarRoom.Channel, "m1"), Cy, "the cert on the PSP gateway expired at 23:45", messageAt), default);
        await Incidents.CaptureMessageAsync(new CapturedMessage(new MessageRef("chat", WarRoom.Channel, "m2"), Bo, "anyone want coffee?", messageAt.AddSeconds(30)), default);
        Clock.Advance(TimeSpan.FromMinutes(5));
        await Incidents.SetPinnedAsync(new MessageRef("chat", WarRoom.Channel, "m1"), true, null, default);
        await Incidents.ChangeSeverityAsync(n, Severity.Sev1, AsAnn, default); // 00:05 on the 21st
        await Incidents.AssignRoleAsync(n, IncidentRole.Commander, Bo, AsAnn, default);
        Clock.Advance(TimeSpan.FromMinutes(10));
        await Incidents.PostUpdateAsync(n, "Renewing the certificate; payments failing for all card types", new Actor(Bo), default);
        Clock.Advance(TimeSpan.FromMinutes(20));
        await Incidents.ChangeStatusAsync(n, IncidentStatus.Monitoring, new Actor(Bo), default); // mitigated 00:35
        await Incidents.AddActionItemAsync(n, "Alert 14 days before certificate expiry", Cy, AsAnn, default);
        Clock.Advance(TimeSpan.FromHours(25));
        await Incidents.ResolveAsync(n, "certificate renewed", new Actor(Bo), default); // 2026-11-22 01:35

        var resolved = await Store.GetAsync(n, default);
        var input = new PostmortemInput(
            resolved!, await TimelineAsync(resolved!), await Store.GetRoleHistoryAsync(resolved!.Id, default),
            await Store.GetActionItemsAsync(resolved.Id, default), Clock.GetUtcNow());
        return (PostmortemDraft.ToMarkdown(input, new Uri("https://bot.example/incidents/1")), resolved);
    }

    [Fact]
    public async Task ToMarkdown_SeededIncident_HasEverySectionInOrder()
    {
        var (markdown, _) = await SeedAsync();
        string[] headings =
        [
            "# INC-1: Payments | checkout failing", "## Overview", "## Executive summary", "## Impact", "## Roles and handoffs",
            "## Timeline", "## Status updates", "## Root cause", "### Five whys", "### Contributing factors", "## What went well",
            "## What went poorly", "## Where we got lucky", "## Action items", "## Response metrics", "## Appendix: full timeline",
        ];
        var positions = headings.Select(h => markdown.IndexOf("\n" + h + "\n", StringComparison.Ordinal) is var i and >= 0 ? i : markdown.StartsWith(h + "\n", StringComparison.Ordinal) ? 0 : -1).ToArray();
        Assert.DoesNotContain(-1, positions);
        Assert.Equal(positions.Order().ToArray(), positions);
        Assert.Contains("Incident page: https://bot.example/incidents/1", markdown);
        Assert.Contains("blameless", markdown);
    }

    [Fact]
    public async Task ToMarkdown_MultiDayIncident_ShowsDatesAndComputesMetrics()
    {
        var (markdown, _) = await SeedAsync();

        Assert.Contains("| Declared | 2026-11-20 23:50 UTC by Ann |", markdown);
        Assert.Contains("| Acknowledged | 2026-11-20 23:54 UTC |", markdown);
        Assert.Contains("| Mitigated | 2026-11-21 00:35 UTC |", markdown);
        Assert.Contains("| Resolved | 2026-11-22 01:35 UTC |", markdown);
        Assert.Contains("| Duration | 1 d 1 h |", markdown);
        Assert.Contains("| Customer-facing window | 2026-11-20 23:50 UTC → 2026-11-21 00:35 UTC (45 min)", markdown);
        Assert.Contains("| Time to acknowledge | 4 min |", markdown);
        Assert.Contains("| Time to mitigate | 45 min |", markdown);
        Assert.Contains("| Time to resolve | 1 d 1 h |", markdown);
        Assert.Contains("| Status updates posted | 1 |", markdown);
    }

    [Fact]
    public async Task ToMarkdown_SeverityRaised_ShowsHistory() =>
        Assert.Contains("| Severity | SEV2 (2026-11-20 23:50 UTC) → SEV1 (2026-11-21 00:05 UTC) |", (await SeedAsync()).Markdown);

    [Fact]
    public async Task ToMarkdown_Timeline_PinnedFirstThenLifecycle_AppendixHasAll()
    {
        var (markdown, _) = await SeedAsync();
        var timeline = Section(markdown, "## Timeline");
        var rows = timeline.Split('\n').Where(l => l.StartsWith("| 2026", StringComparison.Ordinal)).ToList();

        Assert.Contains("the cert on the PSP gateway expired at 23:45", rows[0]);
        Assert.DoesNotContain(rows, r => r.Contains("coffee", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("Severity changed from SEV2 to SEV1", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.Contains("Status changed from investigating to monitoring", StringComparison.Ordinal));

        var appendix = Section(markdown, "## Appendix: full timeline");
        Assert.Contains("anyone want coffee?", appendix);
        Assert.Contains("| 2026-11-21 00:00 UTC | message | Cy | the cert on the PSP gateway expired at 23:45 | 📌 |", appendix);
    }

    [Fact]
    public async Task ToMarkdown_RolesAndActions_ListHandoffsAndOwners()
    {
        var (markdown, _) = await SeedAsync();
        Assert.Contains("- **Incident commander**: Ann (2026-11-20 23:50 UTC → 2026-11-21 00:05 UTC), then Bo (2026-11-21 00:05 UTC → end)", markdown);
        Assert.Contains("| Alert 14 days before certificate expiry | Cy | 2026-11-21 00:35 UTC | open |", markdown);
        Assert.Contains("- 2026-11-21 00:15 UTC — Bo: Renewing the certificate; payments failing for all card types", markdown);
        Assert.Contains("Resolution note recorded at the time: certificate renewed", markdown);
    }

    [Fact]
    public async Task ToMarkdown_PipeInTitle_IsEscapedInTables() =>
        Assert.Contains("| Title | Payments \\| checkout failing |", (await SeedAsync()).Markdown);

    private static string Section(string markdown, string heading)
    {
        var start = markdown.IndexOf("\n" + heading + "\n", StringComparison.Ordinal);
        var end = markdown.IndexOf("\n## ", start + heading.Length + 2, StringComparison.Ordinal);
        return end < 0 ? markdown[start..] : markdown[start..end];
    }
}
