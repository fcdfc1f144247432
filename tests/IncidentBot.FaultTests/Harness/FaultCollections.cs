namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// Recovery times are measured against the wall clock on a machine the processes share, so faults run one at a time:
/// every fault test is in this collection, except the minute-long Slack outage (<see cref="SlackOutage"/>).
/// </summary>
[CollectionDefinition(Name)]
public sealed class OneFaultAtATime
{
    public const string Name = "One fault at a time";
}

/// <summary>
/// The tests of a war room's first seconds, whose Slack outage is a minute of waiting with the bot idle: they run beside
/// the other faults instead of adding two minutes to the run.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SlackOutage
{
    public const string Name = "Slack outage beside the other faults";
}
