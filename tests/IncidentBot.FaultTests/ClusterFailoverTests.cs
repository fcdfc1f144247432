using System.Diagnostics;
using IncidentBot.Core.Incidents;
using IncidentBot.FaultTests.Harness;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Xunit.Abstractions;

namespace IncidentBot.FaultTests;

/// <summary>
/// Two instances on one PostgreSQL database: the one holding claims on war-room deliveries is killed, and the other
/// takes them over once the dead one stops checking in, well within 15 s, without making any channel twice.
/// </summary>
[Collection(OneFaultAtATime.Name)]
public sealed class ClusterFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Target = TimeSpan.FromSeconds(15);

    private readonly PostgresTestDatabase _database = new();
    private OutboxFaults _faults = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _faults = await OutboxFaults.CreateAsync(_database, output);
    }

    public async Task DisposeAsync()
    {
        await _faults.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task KillInstanceHoldingClaims_OtherInstanceDeliversWithinSeconds()
    {
        var slack = _faults.Slack;
        var release = new TaskCompletionSource();
        var doomed = await _faults.StartBotAsync();
        var doomedAddress = _faults.BotAddress;
        slack.Script("conversations.create", new SlackFault(Hold: release.Task), new SlackFault(Hold: release.Task), new SlackFault(Hold: release.Task));
        IncidentNumber[] numbers =
        [
            await _faults.DeclareAsync("declare sev1 Checkout down", doomedAddress),
            await _faults.DeclareAsync("declare sev2 Search slow", doomedAddress),
            await _faults.DeclareAsync("declare sev2 Emails delayed", doomedAddress),
        ];
        // The only instance running has claimed all three and is stuck in conversations.create.
        await slack.WaitForCallsAsync("conversations.create", 3);
        await _faults.StartBotAsync();

        await _faults.KillAsync(doomed);
        var sinceKill = Stopwatch.StartNew();
        release.SetResult();

        foreach (var number in numbers)
        {
            var room = await _faults.WaitForWarRoomAsync(number, Target - sinceKill.Elapsed);
            _faults.Log($"war room of {number} whole on the surviving instance {sinceKill.Elapsed.TotalSeconds:0.0} s after the kill");
            Assert.Single(_faults.ChannelsOf(number));
            await _faults.AssertCapturesAsync(number, room, TimeSpan.FromSeconds(5));
        }
    }
}
