using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;

namespace IncidentBot.Tests;

/// <summary>
/// Every project composes the same way: <c>Add…(this IHostApplicationBuilder)</c>, binding and validating its own
/// options; Program.cs calls each of them, paging included.
/// </summary>
public sealed class CompositionTests
{
    private static readonly Assembly[] Projects =
    [
        typeof(Core.DependencyInjection).Assembly,
        typeof(Storage.DependencyInjection).Assembly,
        typeof(Paging.DependencyInjection).Assembly,
        typeof(Scheduling.DependencyInjection).Assembly,
        typeof(Slack.DependencyInjection).Assembly,
        typeof(Teams.DependencyInjection).Assembly,
    ];

    [Fact]
    public void EveryProject_ComposesThroughTheHostBuilder()
    {
        var adds = Projects
            .SelectMany(a => a.GetExportedTypes())
            .Where(t => t is { IsAbstract: true, IsSealed: true })
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.Name.StartsWith("Add", StringComparison.Ordinal) && m.IsDefined(typeof(ExtensionAttribute)))
            .ToList();

        var otherShapes = adds
            .Where(m => m.GetParameters()[0].ParameterType != typeof(IHostApplicationBuilder) || m.ReturnType != typeof(IHostApplicationBuilder))
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})")
            .ToList();

        Assert.Empty(otherShapes);
        foreach (var project in Projects)
        {
            Assert.Contains(adds, m => m.DeclaringType!.Assembly == project && m.GetParameters().Length == 1);
        }
    }

    [Fact]
    public void Program_CallsEveryProjectsAddMethod()
    {
        var program = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "IncidentBot", "Program.cs"));

        foreach (var add in new[] { "AddIncidentEngine", "AddStorage", "AddPaging", "AddScheduling", "AddSlack", "AddTeams" })
        {
            Assert.Contains($"builder.{add}();", program, StringComparison.Ordinal);
        }
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
}
