using IncidentBot.TestKit;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// Answers through response_urls go out after the acknowledgement through the bot's one bounded queue: a burst of
/// interactions while Slack is slow opens a few posts at once, not one per interaction, and every answer still arrives.
/// </summary>
public sealed class SlackAnswerLaterTests : SlackOnSqliteTest
{
    /// <summary>The after-acknowledgement queue's workers (<c>AfterAcknowledgement.DefaultWorkers</c>).</summary>
    private const int Workers = 8;


    [Fact]
    public async Task CardActions_BurstWhileSlackIsSlow_FewResponseUrlPostsAtOnceAndEveryAnswerArrives()
    {
        const int Burst = 30;
        var general = FakeSlack.AddChannel("general");
        FakeSlack.AddUser("UANN00001", "ann");
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        FakeSlack.HoldResponses = slow.Task;
        await using var host = SlackHost.Start(Database, FakeSlack);

        // A card action on an incident that does not exist is answered through its response_url.
        for (var i = 0; i < Burst; i++)
        {
            await host.Transport.InteractionAsync(SlackPayloads.BlockAction(
                "UANN00001", "ann", general.Id, "card:INC-7:state", SlackPayloads.ButtonAction(SlackIds.AcknowledgeAction, "INC-7"), FakeSlack.ResponseUrl($"burst-{i}")));
        }

        // Every interaction was acknowledged (its answer queued); Slack holds each post that reaches it.
        await Eventually.HoldsAsync(() => FakeSlack.ResponsesInFlight >= Workers, "the workers' posts to be held by Slack");
        Assert.Empty(FakeSlack.Responses);

        slow.SetResult();
        await Eventually.HoldsAsync(() => FakeSlack.Responses.Count == Burst, "every answer");
        Assert.Equal(Enumerable.Range(0, Burst).Select(i => $"burst-{i}").Order(), FakeSlack.Responses.Select(r => r.Id).Order());
        Assert.InRange(FakeSlack.MostResponsesInFlight, 1, Workers);
    }
}
