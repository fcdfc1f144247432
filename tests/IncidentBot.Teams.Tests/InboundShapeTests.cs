using System.Text.RegularExpressions;
using IncidentBot.Teams.Inbound;
using Microsoft.Extensions.DependencyInjection;

namespace IncidentBot.Teams.Tests;

/// <summary>The Teams inbound side has Slack's shape: one handler per activity kind, and typed card actions only.</summary>
public sealed partial class InboundShapeTests
{
    [Fact]
    public async Task Dispatcher_EveryActivityKind_HasExactlyOneHandler()
    {
        await using var world = await TeamsWorld.StartAsync();

        var kinds = world.Services.GetServices<ITeamsActivityHandler>().SelectMany(h => h.Kinds).ToList();

        Assert.Equal(Enum.GetValues<TeamsActivityKind>().Order(), kinds.Order());
        Assert.NotNull(world.Services.GetRequiredService<TeamsDispatcher>());
    }

    [Fact]
    public void TeamsSources_BuildNoCommandText()
    {
        var source = Path.Combine(CardTests.RepositoryRoot(), "src", "IncidentBot.Teams");
        var built = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => File.ReadLines(file).Select((line, i) => (File: Path.GetRelativePath(source, file), Line: i + 1, Text: line)))
            .Where(l => CommandText().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();

        Assert.Empty(built);
    }

    // An interpolated string that starts like a command of the shared grammar, e.g. $"role {number} …".
    [GeneratedRegex("""\$@?"(declare|ack|resolve|reopen|sev|status|update|note|role|page|snooze|action|link|timeline|postmortem) \{""")]
    private static partial Regex CommandText();
}
