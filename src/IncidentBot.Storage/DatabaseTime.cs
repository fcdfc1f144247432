using System.Globalization;

namespace IncidentBot.Storage;

/// <summary>
/// How times are stored: UTC, truncated to whole microseconds (PostgreSQL's precision) on both providers,
/// so a value reads back exactly as it was written wherever it is stored.
/// </summary>
public static class DatabaseTime
{
    /// <summary>Times as text (SQLite columns, event JSON): fixed width, so text order is time order.</summary>
    public const string IsoFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    public static DateTimeOffset Truncate(DateTimeOffset value)
    {
        var ticks = value.UtcTicks;
        return new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerMicrosecond), TimeSpan.Zero);
    }

    public static string ToIsoText(DateTimeOffset value) =>
        Truncate(value).UtcDateTime.ToString(IsoFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset FromIsoText(string text)
    {
        const DateTimeStyles styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;
        return DateTimeOffset.TryParseExact(text, IsoFormat, CultureInfo.InvariantCulture, styles, out var exact)
            ? exact
            : Truncate(DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, styles));
    }

    public static DateTimeOffset FromDateTime(DateTime value) => Truncate(value.Kind switch
    {
        DateTimeKind.Local => new DateTimeOffset(value.ToUniversalTime()),
        _ => new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)),
    });
}
