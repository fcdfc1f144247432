using System.Text.RegularExpressions;

namespace IncidentBot.Tests;

/// <summary>Each project owns its tables: Storage holds no front-end or paging SQL, adapters no provider branches.</summary>
public sealed partial class OwnershipTests
{
    [Fact]
    public void Storage_DefinesAndQueriesNoSlackTeamsOrPagingTable()
    {
        var mentions = SourceFiles("IncidentBot.Storage", "*.cs", "*.sql")
            .SelectMany(f => AdapterTable().Matches(File.ReadAllText(f)).Select(m => $"{Path.GetFileName(f)}: {m.Value}"))
            .ToList();

        Assert.Empty(mentions);
    }

    [Theory]
    [InlineData("IncidentBot.Slack")]
    [InlineData("IncidentBot.Teams")]
    [InlineData("IncidentBot.Paging")]
    public void Adapter_AsksTheDialectInsteadOfBranchingOnTheProvider(string project)
    {
        var branches = SourceFiles(project, "*.cs").Where(f => File.ReadAllText(f).Contains("DatabaseProvider.", StringComparison.Ordinal)).ToList();

        Assert.Empty(branches);
    }

    [Theory]
    [InlineData("IncidentBot.Slack", "slack_")]
    [InlineData("IncidentBot.Teams", "teams_")]
    [InlineData("IncidentBot.Paging", "page_ledger")]
    public void Adapter_CreatesItsOwnTablesInItsOwnMigrations(string project, string table)
    {
        foreach (var provider in new[] { "Sqlite", "Postgres" })
        {
            var scripts = SourceFiles(project, "*.sql").Where(f => f.Contains($"Migrations{Path.DirectorySeparatorChar}{provider}", StringComparison.Ordinal));
            Assert.Contains(scripts, f => File.ReadAllText(f).Contains($"CREATE TABLE {table}", StringComparison.Ordinal));
        }
    }

    private static IEnumerable<string> SourceFiles(string project, params string[] patterns)
    {
        var root = Path.Combine(RepositoryRoot(), "src", project);
        var build = new[] { $"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", $"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}" };
        return patterns.SelectMany(p => Directory.EnumerateFiles(root, p, SearchOption.AllDirectories))
            .Where(f => !build.Any(b => f.Contains(b, StringComparison.Ordinal)));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IncidentBot.sln not found above the test output.");
    }

    [GeneratedRegex(@"\b(slack_\w+|teams_\w+|page_ledger)\b")]
    private static partial Regex AdapterTable();
}
