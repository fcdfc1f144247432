using System.Globalization;

namespace IncidentBot.Benchmarks;

/// <summary>Percentiles of a set of durations, for the benchmark reports.</summary>
public sealed class LatencyStats(IEnumerable<TimeSpan> samples)
{
    private readonly double[] _ms = samples.Select(s => s.TotalMilliseconds).Order().ToArray();

    public int Count => _ms.Length;

    public double Percentile(double p)
    {
        if (_ms.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100 * _ms.Length) - 1;
        return _ms[Math.Clamp(rank, 0, _ms.Length - 1)];
    }

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"n={Count} p50={Percentile(50):F1} ms p90={Percentile(90):F1} ms p99={Percentile(99):F1} ms max={Percentile(100):F1} ms");
}
