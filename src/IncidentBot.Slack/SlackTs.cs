using System.Globalization;

namespace IncidentBot.Slack;

/// <summary>Slack message timestamps (<c>1712345678.123456</c>): ids that are also the posting time.</summary>
public static class SlackTs
{
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
