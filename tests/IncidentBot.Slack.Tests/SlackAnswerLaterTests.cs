using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// Answers through response_urls go out after the acknowledgement through the bot's one bounded queue: a burst of
/// interactions while Slack is slow opens a few posts at once, not one per interaction, and every answer still arrives.
/// </summary>
public sealed class SlackAnswerLaterTests : IAsyncLifetime
{
    /// <summary>The after-acknowledgement queue's workers (<c>AfterAcknowledgement.DefaultWorkers</c>).</summary>
    private const int Workers = 8;

    private readonly SqliteTestDatabase _database = new();
    private FakeSlackServer _slack = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task CardActions_BurstWhileSlackIsSlow_FewResponseUrlPostsAtOnceAndEveryAnswerArrives()
    {
        const int Burst = 30;
        var general = _slack.AddChannel("general");
        _slack.AddUser("UANN00001", "ann");
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _slack.HoldResponses = slow.Task;
        await using var host = SlackHost.Start(_database, _slack);

        // A card action on an incident that does not exist is answered through its response_url.
        for (var i = 0; i < Burst; i++)
        {
            await host.Transport.InteractionAsync(SlackPayloads.BlockAction(
                "UANN00001", "ann", general.Id, "card:INC-7:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, "INC-7"), _slack.ResponseUrl($"burst-{i}")));
        }

        // Every interaction was acknowledged (its answer queued); Slack holds each post that reaches it.
        await Eventually.HoldsAsync(() => _slack.ResponsesInFlight >= Workers, "the workers' posts to be held by Slack");
        Assert.Empty(_slack.Responses);

        slow.SetResult();
        await Eventually.HoldsAsync(() => _slack.Responses.Count == Burst, "every answer");
        Assert.Equal(Enumerable.Range(0, Burst).Select(i => $"burst-{i}").Order(), _slack.Responses.Select(r => r.Id).Order());
        Assert.InRange(_slack.MostResponsesInFlight, 1, Workers);
    }
}
