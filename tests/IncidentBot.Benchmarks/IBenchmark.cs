namespace IncidentBot.Benchmarks;

/// <summary>One named measurement; found by reflection, run by name from the command line.</summary>
public interface IBenchmark
{
    string Name { get; }

    string Description { get; }

    Task<int> RunAsync(string[] args, CancellationToken cancellationToken);
}
