using System.Globalization;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Postmortems;

/// <summary>One ISO week (starting Monday, UTC) of incidents.</summary>
public sealed record WeekStats(
    DateOnly WeekStart,
    IReadOnlyDictionary<Severity, int> Declared,
    IReadOnlyDictionary<Severity, TimeSpan?> MeanTimeToAcknowledge,
    IReadOnlyDictionary<Severity, TimeSpan?> MeanTimeToResolve)
{
    public int Total => Declared.Values.Sum();
}

/// <summary>Incidents per week by severity, and MTTA/MTTR per severity, for the metrics page.</summary>
public static class IncidentStatistics
{
    /// <summary>Every week from the one containing <paramref name="from"/> to the one containing <paramref name="to"/>, empty weeks included.</summary>
    public static IReadOnlyList<WeekStats> Weekly(IEnumerable<Incident> incidents, DateTimeOffset from, DateTimeOffset to)
    {
        var byWeek = incidents
            .Where(i => i.DeclaredAt >= from && i.DeclaredAt < to)
            .GroupBy(i => WeekOf(i.DeclaredAt))
            .ToDictionary(g => g.Key, g => g.ToList());
        var weeks = new List<WeekStats>();
        for (var week = WeekOf(from); week <= WeekOf(to.AddTicks(-1)); week = week.AddDays(7))
        {
            var inWeek = byWeek.GetValueOrDefault(week) ?? [];
            weeks.Add(new WeekStats(
                week,
                Enum.GetValues<Severity>().ToDictionary(s => s, s => inWeek.Count(i => i.Severity == s)),
                Enum.GetValues<Severity>().ToDictionary(s => s, s => Mean(inWeek.Where(i => i.Severity == s).Select(i => i.AcknowledgedAt - i.DeclaredAt))),
                Enum.GetValues<Severity>().ToDictionary(s => s, s => Mean(inWeek.Where(i => i.Severity == s).Select(i => i.ResolvedAt - i.DeclaredAt)))));
        }

        return weeks;
    }

    /// <summary>Mean over the incidents that reached the milestone; null when none did.</summary>
    public static TimeSpan? Mean(IEnumerable<TimeSpan?> spans)
    {
        var reached = spans.OfType<TimeSpan>().ToList();
        return reached.Count == 0 ? null : TimeSpan.FromTicks((long)reached.Average(s => s.Ticks));
    }

    public static DateOnly WeekOf(DateTimeOffset time)
    {
        var day = DateOnly.FromDateTime(time.UtcDateTime);
        var offset = ((int)day.DayOfWeek + 6) % 7;
        return day.AddDays(-offset);
    }

    public static string Label(DateOnly weekStart) => weekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
