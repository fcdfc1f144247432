using System.Globalization;
using IncidentBot.Storage;

namespace IncidentBot.Benchmarks;

/// <summary>One workload's answer latencies, how long it took in all, and how many answers were not 200 OK.</summary>
internal sealed record LoadResult(LatencyStats Stats, TimeSpan Elapsed, int Failures)
{
    public void Report(DatabaseProvider provider, string workload) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{provider,-8} {workload,-22} {Stats.Describe()} throughput={Stats.Count / Elapsed.TotalSeconds:F0} req/s non-200={Failures}"));
}
