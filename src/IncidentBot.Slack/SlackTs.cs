using System.Globalization;

namespace IncidentBot.Slack;

/// <summary>Slack message timestamps (<c>1712345678.123456</c>): ids that are also the posting time.</summary>
public static class SlackTs
{
    /// <summary>The ts of <paramref name="time"/>, to the microsecond: what <c>oldest</c> and <c>latest</c> take.</summary>
    public static string Format(DateTimeOffset time)
    {
        var micros = (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
        return string.Create(CultureInfo.InvariantCulture, $"{micros / 1_000_000}.{micros % 1_000_000:D6}");
    }

    public static bool TryParse(string? ts, out DateTimeOffset time)
    {
        time = default;
        if (string.IsNullOrEmpty(ts) ||
            !decimal.TryParse(ts, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) ||
            seconds <= 0 || seconds > 253_402_300_799m)
        {
            return false;
        }

        var whole = (long)Math.Floor(seconds);
        var micros = (long)((seconds - whole) * 1_000_000m);
        time = DateTimeOffset.FromUnixTimeSeconds(whole).AddTicks(micros * TimeSpan.TicksPerMicrosecond);
        return true;
    }
}
