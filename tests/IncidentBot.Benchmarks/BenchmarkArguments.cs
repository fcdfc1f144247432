using System.Globalization;

namespace IncidentBot.Benchmarks;

/// <summary>The <c>--name value</c> options that follow a benchmark's name on the command line.</summary>
internal static class BenchmarkArguments
{
    public static int Int(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture) : fallback;
    }
}
