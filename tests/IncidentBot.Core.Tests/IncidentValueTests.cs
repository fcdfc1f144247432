using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Tests;

public sealed class IncidentValueTests
{
    [Theory]
    [InlineData("INC-42", 42)]
    [InlineData("inc-7", 7)]
    [InlineData("#12", 12)]
    [InlineData("3", 3)]
    public void IncidentNumber_TryParse_AcceptsKnownForms(string text, int value)
    {
        Assert.True(IncidentNumber.TryParse(text, out var number));
        Assert.Equal(value, number.Value);
        Assert.Equal($"INC-{value}", number.ToString());
    }

    [Theory]
    [InlineData("INC-")]
    [InlineData("INC-0")]
    [InlineData("INC--1")]
    [InlineData("foo")]
    [InlineData("")]
    [InlineData(null)]
    public void IncidentNumber_TryParse_RejectsOthers(string? text) => Assert.False(IncidentNumber.TryParse(text, out _));

    [Fact]
    public void UpdateCadence_Defaults_RemindSev1And2Only()
    {
        var cadence = new UpdateCadence();
        var now = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(now.AddMinutes(15), cadence.NextDue(Severity.Sev1, now));
        Assert.Equal(now.AddMinutes(30), cadence.NextDue(Severity.Sev2, now));
        Assert.Null(cadence.NextDue(Severity.Sev3, now));
        Assert.Null(cadence.NextDue(Severity.Sev4, now));
    }

    [Theory]
    [InlineData(0, 30, "30 s")]
    [InlineData(0, 61 * 60, "1 h 1 min")]
    [InlineData(2, 3 * 3600, "2 d 3 h")]
    [InlineData(0, 42 * 60, "42 min")]
    public void Durations_Describe_IsShort(int days, int seconds, string expected) =>
        Assert.Equal(expected, Durations.Describe(TimeSpan.FromDays(days) + TimeSpan.FromSeconds(seconds)));
}
