namespace IncidentBot.Storage;

/// <summary>
/// The few spellings that differ between the providers, so code outside Storage writes one SQL text and asks here for
/// the part that differs instead of branching on <see cref="DatabaseProvider"/>. Everything else the bot writes
/// (<c>INSERT … ON CONFLICT … DO NOTHING/UPDATE</c>, <c>LIMIT</c>, <c>RETURNING</c>, times as parameters) is the same on both.
/// </summary>
public sealed class SqlDialect
{
    public static readonly SqlDialect Sqlite = new(DatabaseProvider.Sqlite, "1", "0", "IN @{0}");

    public static readonly SqlDialect Postgres = new(DatabaseProvider.Postgres, "true", "false", "= ANY(@{0})");

    private readonly string _inListFormat;

    private SqlDialect(DatabaseProvider provider, string trueLiteral, string falseLiteral, string inListFormat)
    {
        Provider = provider;
        True = trueLiteral;
        False = falseLiteral;
        _inListFormat = inListFormat;
    }

    public static SqlDialect For(DatabaseProvider provider) => provider == DatabaseProvider.Postgres ? Postgres : Sqlite;

    public DatabaseProvider Provider { get; }

    /// <summary>The literal of a true flag column (SQLite stores 0/1 in STRICT INTEGER columns).</summary>
    public string True { get; }

    public string False { get; }

    /// <summary>
    /// <c>column</c>'s test against a list parameter named <paramref name="parameter"/>: <c>= ANY(@Ids)</c> (Npgsql takes
    /// the list as one array) or <c>IN @Ids</c> (Dapper spreads it for SQLite).
    /// </summary>
    public string InList(string parameter) => string.Format(System.Globalization.CultureInfo.InvariantCulture, _inListFormat, parameter);
}

/// <summary>The dialect of a connection factory's database.</summary>
public static class SqlDialectExtensions
{
    public static SqlDialect Dialect(this IDbConnectionFactory database)
    {
        ArgumentNullException.ThrowIfNull(database);
        return SqlDialect.For(database.Provider);
    }
}
