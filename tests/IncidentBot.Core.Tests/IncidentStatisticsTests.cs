using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;

namespace IncidentBot.Core.Tests;

public sealed class IncidentStatisticsTests
{
    private static readonly Person Ann = new("chat", "U1", "Ann");
    private static readonly DateTimeOffset Monday = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    private static Incident Make(int n, Severity severity, DateTimeOffset declared, TimeSpan? ack = null, TimeSpan? resolve = null) =>
        Incident.Declare(new IncidentNumber(n), $"#{n}", null, severity, Ann, declared, new UpdateCadence())
            with { AcknowledgedAt = declared + ack, ResolvedAt = declared + resolve };

    [Fact]
    public void Weekly_CountsAndMeansPerSeverity_IncludesEmptyWeeks()
    {
        Incident[] incidents =
        [
            Make(1, Severity.Sev1, Monday.AddHours(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(60)),
            Make(2, Severity.Sev1, Monday.AddDays(6).AddHours(23), TimeSpan.FromMinutes(4), null), // Sunday, same week
            Make(3, Severity.Sev2, Monday.AddDays(2), null, TimeSpan.FromHours(3)),
            Make(4, Severity.Sev3, Monday.AddDays(14), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20)),
        ];

        var weeks = IncidentStatistics.Weekly(incidents, Monday, Monday.AddDays(21));

        Assert.Equal([new DateOnly(2026, 11, 2), new DateOnly(2026, 11, 9), new DateOnly(2026, 11, 16)], weeks.Select(w => w.WeekStart).ToArray());
        Assert.Equal(2, weeks[0].Declared[Severity.Sev1]);
        Assert.Equal(1, weeks[0].Declared[Severity.Sev2]);
        Assert.Equal(3, weeks[0].Total);
        Assert.Equal(TimeSpan.FromMinutes(3), weeks[0].MeanTimeToAcknowledge[Severity.Sev1]);
        Assert.Equal(TimeSpan.FromMinutes(60), weeks[0].MeanTimeToResolve[Severity.Sev1]);
        Assert.Null(weeks[0].MeanTimeToAcknowledge[Severity.Sev2]);
        Assert.Equal(0, weeks[1].Total);
        Assert.Equal(1, weeks[2].Declared[Severity.Sev3]);
    }

    [Theory]
    [InlineData("2026-11-08T23:59:00Z", "2026-11-02")]
    [InlineData("2026-11-09T00:00:00Z", "2026-11-09")]
    [InlineData("2026-11-11T12:00:00Z", "2026-11-09")]
    public void WeekOf_StartsOnMondayUtc(string time, string expected) =>
        Assert.Equal(expected, IncidentStatistics.Label(IncidentStatistics.WeekOf(DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture))));
}
