using System.Globalization;
using IncidentBot.Storage;

namespace IncidentBot.Benchmarks;

/// <summary>
/// One workload's answer latencies, how long it took in all, how many answers were not 200 OK, and the offered
/// rate (0: closed loop, each connection sending as soon as its last answer came). <see cref="Acknowledged"/> says,
/// per request index, whether it was answered 200 OK: what the count check holds the database to.
/// </summary>
internal sealed record LoadResult(LatencyStats Stats, TimeSpan Elapsed, int Failures, double Rate, IReadOnlyList<bool> Acknowledged)
{
    public void Report(DatabaseProvider provider, string workload) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{provider,-8} {workload,-22} {(Rate > 0 ? $"open {Rate:F0}/s" : "closed"),-11} {Stats.Describe()} throughput={Stats.Count / Elapsed.TotalSeconds:F0} req/s non-200={Failures}"));
}
