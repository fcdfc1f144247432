using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace IncidentBot.Storage;

/// <summary>A migration's identity: the table set that owns it and its number there.</summary>
public readonly record struct MigrationId(string Source, int Version) : IComparable<MigrationId>
{
    public int CompareTo(MigrationId other)
    {
        var source = string.CompareOrdinal(Source, other.Source);
        return source != 0 ? source : Version.CompareTo(other.Version);
    }

    public static bool operator <(MigrationId left, MigrationId right) => left.CompareTo(right) < 0;

    public static bool operator <=(MigrationId left, MigrationId right) => left.CompareTo(right) <= 0;

    public static bool operator >(MigrationId left, MigrationId right) => left.CompareTo(right) > 0;

    public static bool operator >=(MigrationId left, MigrationId right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Source}/{Version:D4}";
}

/// <summary>
/// A versioned schema script of one table set and provider, embedded as <c>Migrations/&lt;Provider&gt;/NNNN_name.sql</c>.
/// <see cref="Adopts"/> lists scripts of another set that already made these changes (a line <c>-- Adopts: storage 2</c>):
/// on a database that recorded one of them, this script is recorded as applied without running.
/// </summary>
public sealed record Migration(MigrationId Id, string Name, string Sql, IReadOnlyList<MigrationId> Adopts);

/// <summary>Deletes one batch (<c>@Batch</c> rows at most) of a table's rows older than <c>@Before</c>.</summary>
/// <param name="Table">The name the pruner reports the deleted rows under.</param>
/// <param name="Age">Which <c>Retention:*</c> age <c>@Before</c> is computed from.</param>
public sealed record RetentionRule(string Table, RetentionAge Age, string DeleteBatchSql);

public enum RetentionAge
{
    /// <summary><c>Retention:Age</c>: finished work, delivery records, references nothing uses.</summary>
    Finished,

    /// <summary><c>Retention:ReceiptAge</c>: receipts that only stop redeliveries.</summary>
    Receipts,
}

/// <summary>
/// The tables one project owns: its migration scripts (embedded in <paramref name="assembly"/>, numbered from 0001 within
/// the set) and how the one retention pruner ages out their rows. A project registers its set with
/// <see cref="DependencyInjection.AddTables"/>; the start-up migration applies every registered set, Storage's first.
/// </summary>
public sealed partial class TableSet(string name, Assembly assembly, params RetentionRule[] retention)
{
    public const string StorageName = "storage";

    public string Name { get; } = name;

    public IReadOnlyList<RetentionRule> Retention { get; } = retention;

    /// <summary>The set's scripts for <paramref name="provider"/>, oldest first.</summary>
    public IReadOnlyList<Migration> MigrationsFor(DatabaseProvider provider)
    {
        var prefix = $"Migrations/{provider}/";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var file = Path.GetFileNameWithoutExtension(resource[prefix.Length..]);
            var separator = file.IndexOf('_', StringComparison.Ordinal);
            if (separator < 1 || !int.TryParse(file.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration {resource} of {Name} is not named NNNN_name.sql.");
            }

            var sql = ReadResource(resource);
            var adopts = AdoptsLine().Matches(sql)
                .Select(m => new MigrationId(m.Groups["source"].Value, int.Parse(m.Groups["version"].Value, CultureInfo.InvariantCulture)))
                .ToList();
            migrations.Add(new Migration(new MigrationId(Name, version), file, sql, adopts));
        }

        return migrations.OrderBy(m => m.Id.Version).ToList();
    }

    private string ReadResource(string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Migration resource {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"^--\s*Adopts:\s*(?<source>[a-z]+)\s+(?<version>\d+)\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex AdoptsLine();
}
