namespace IncidentBot.Scheduling.Tests;

public sealed class SchedulerOptionsTests
{
    [Fact]
    public void ResolveInstanceId_Auto_DiffersPerSchedulerOnOneHost()
    {
        var options = new SchedulerOptions();

        var first = options.ResolveInstanceId();
        var second = options.ResolveInstanceId();

        Assert.NotEqual("AUTO", first);
        Assert.NotEqual(first, second);
        Assert.StartsWith($"{Environment.MachineName}-{Environment.ProcessId}-", first, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveInstanceId_Explicit_KeptAsGiven()
    {
        Assert.Equal("bot-a", new SchedulerOptions { InstanceId = "bot-a" }.ResolveInstanceId());
    }
}
