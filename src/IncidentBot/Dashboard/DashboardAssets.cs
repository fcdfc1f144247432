using System.Collections.Frozen;

namespace IncidentBot.Dashboard;

/// <summary>The dashboard's stylesheet and script, embedded so the app serves them from any working directory.</summary>
internal static class DashboardAssets
{
    public sealed record Asset(byte[] Content, string ContentType);

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    public static Asset? Find(string name) => Assets.GetValueOrDefault(name);

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        const string prefix = "Dashboard/Assets/";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(
                n => n[prefix.Length..],
                n =>
                {
                    using var stream = assembly.GetManifestResourceStream(n)!;
                    using var buffer = new MemoryStream();
                    stream.CopyTo(buffer);
                    var type = n.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
                    return new Asset(buffer.ToArray(), type);
                });
    }
}
