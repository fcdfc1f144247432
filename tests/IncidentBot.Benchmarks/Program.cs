using System.Reflection;
using IncidentBot.Benchmarks;

// Usage: dotnet run -c Release --project tests/IncidentBot.Benchmarks -- <name> [options]
// Each benchmark prints its own figures; they are measured here and quoted in the README, never asserted in tests.
var benchmarks = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

var chosen = args.Length > 0 ? benchmarks.FirstOrDefault(b => b.Name == args[0]) : null;
if (chosen is null)
{
    Console.Error.WriteLine("Usage: IncidentBot.Benchmarks <name> [options]. Benchmarks:");
    foreach (var benchmark in benchmarks)
    {
        Console.Error.WriteLine($"  {benchmark.Name,-24} {benchmark.Description}");
    }

    return 2;
}

return await chosen.RunAsync(args[1..], CancellationToken.None);
