using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Slack.WebApi;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack.Tests;

/// <summary>The Web API client against the fake Slack over loopback HTTP.</summary>
public sealed class SlackApiClientTests : IAsyncLifetime
{
    private FakeSlackServer _slack = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _slack = await FakeSlackServer.StartAsync();
        _http = new HttpClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _slack.DisposeAsync();
    }

    private SlackApiClient Client(string token = FakeSlackServer.BotToken) => new(
        _http,
        Options.Create(new SlackOptions { BotToken = token, ApiBaseUrl = _slack.ApiBaseUrl.ToString(), ChannelPostInterval = TimeSpan.Zero }),
        new SlackRetryPipeline(TimeProvider.System, NullLogger<SlackRetryPipeline>.Instance),
        new ChannelPacer(TimeProvider.System),
        TimeProvider.System,
        NullLogger<SlackApiClient>.Instance);

    [Fact]
    public async Task Call_OkFalse_ThrowsWithSlackErrorCode()
    {
        var error = await Assert.ThrowsAsync<SlackApiException>(() => Client().SetTopicAsync("CNOPE", "x", default));

        Assert.Equal("channel_not_found", error.Error);
        Assert.Equal("conversations.setTopic", error.Method);
    }

    [Fact]
    public async Task Call_WrongToken_InvalidAuthNotRetried()
    {
        var error = await Assert.ThrowsAsync<SlackApiException>(() => Client("xoxb-wrong").AuthTestAsync(default));

        Assert.Equal("invalid_auth", error.Error);
        Assert.Single(_slack.CallsTo("auth.test"));
    }

    [Fact]
    public async Task Call_ServerErrorsThenOk_RetriedUntilSuccess()
    {
        _slack.Script("auth.test", SlackFault.ServerError(), SlackFault.ServerError());

        var auth = await Client().AuthTestAsync(default);

        Assert.Equal(FakeSlackServer.BotUserId, auth.UserId);
        Assert.Equal(3, _slack.CallsTo("auth.test").Count);
    }

    [Fact]
    public async Task Call_Always_SendsBearerToken()
    {
        await Client().AuthTestAsync(default);

        Assert.Equal(FakeSlackServer.BotToken, _slack.CallsTo("auth.test").Single().Token);
    }

    [Fact]
    public async Task Invite_250Users_BatchesOfAtMost100()
    {
        var channel = _slack.AddChannel("room");
        var users = Enumerable.Range(0, 250).Select(i => $"U{i:D8}").ToList();

        await Client().InviteAsync(channel.Id, users, default);
        await Client().InviteAsync(channel.Id, users, default); // everyone is in already: not an error

        var batches = _slack.CallsTo("conversations.invite").Take(3).Select(c => c.Arg("users")!.Split(',').Length).ToList();
        Assert.Equal([100, 100, 50], batches);
        Assert.Equal(251, channel.Members.Count);
    }

    [Fact]
    public async Task AddReaction_AlreadyThere_NotAnError()
    {
        var channel = _slack.AddChannel("room");
        var ts = _slack.PostUserMessage(channel.Id, "UANN", "hello");

        await Client().AddReactionAsync(channel.Id, ts, "eyes", default);
        await Client().AddReactionAsync(channel.Id, ts, "eyes", default);

        Assert.Contains("eyes", channel.Messages[ts].Reactions.Keys);
    }

    [Fact]
    public async Task PostMessage_TooManyBlocks_RejectedByFakeAsInvalidBlocks()
    {
        var channel = _slack.AddChannel("room");
        var blocks = new JsonArray(Enumerable.Range(0, 51).Select(i => (JsonNode)new JsonObject { ["type"] = "divider" }).ToArray());

        var error = await Assert.ThrowsAsync<SlackApiException>(() => Client().PostMessageAsync(channel.Id, new SlackMessage("x", blocks), default));

        Assert.Equal("invalid_blocks", error.Error);
    }

    [Theory]
    [InlineData("https://hooks.slack.com/actions/T1/2/abc", true)]
    [InlineData("http://hooks.slack.com/actions/T1/2/abc", false)]
    [InlineData("https://evil.example.com/hooks.slack.com", false)]
    [InlineData("http://169.254.169.254/latest/meta-data", false)]
    public void ResponseUrl_OnlySlackHosts_Accepted(string url, bool accepted) =>
        Assert.Equal(accepted, Client().IsSlackResponseUrl(new Uri(url)));

    [Fact]
    public async Task UploadFile_ThreeSteps_SharedInChannelThreadWithoutTokenOnUploadUrl()
    {
        var channel = _slack.AddChannel("room");
        var ts = _slack.PostUserMessage(channel.Id, FakeSlackServer.BotUserId, "links");
        var content = Encoding.UTF8.GetBytes("# INC-7 postmortem\n\nÜmlauts & <angles> survive.\n");

        var id = await Client().UploadFileAsync(channel.Id, new SlackFileUpload("INC-7-postmortem.md", "INC-7 postmortem draft", content) { ThreadTs = ts }, default);

        var file = _slack.Files[id];
        Assert.True(file.Shared);
        Assert.Equal(channel.Id, file.Channel);
        Assert.Equal(ts, file.ThreadTs);
        Assert.Equal("INC-7 postmortem draft", file.Title);
        Assert.Equal(content, file.Content);
        Assert.False(file.UploadCarriedToken);
        var ticket = Assert.Single(_slack.CallsTo("files.getUploadURLExternal"));
        Assert.Equal(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ticket.Arg("length"));
        Assert.Equal("INC-7-postmortem.md", ticket.Arg("filename"));
    }

    [Fact]
    public async Task UploadFile_MissingScope_ThrowsSlackErrorAndUploadsNothing()
    {
        var channel = _slack.AddChannel("room");
        _slack.Script("files.getUploadURLExternal", SlackFault.Fails("missing_scope"));

        var error = await Assert.ThrowsAsync<SlackApiException>(() =>
            Client().UploadFileAsync(channel.Id, new SlackFileUpload("a.md", "a", new byte[] { 1 }), default));

        Assert.Equal("missing_scope", error.Error);
        Assert.Empty(_slack.CallsTo("files.completeUploadExternal"));
    }

    [Theory]
    [InlineData("https://files.slack.com/upload/v1/ABC123", true)]
    [InlineData("http://files.slack.com/upload/v1/ABC123", false)]
    [InlineData("https://files.slack.com.evil.example/upload", false)]
    [InlineData("https://evil.example.com/files.slack.com", false)]
    public void UploadUrl_OnlySlackHosts_Accepted(string url, bool accepted) =>
        Assert.Equal(accepted, Client().IsSlackUploadUrl(new Uri(url)));

    [Fact]
    public async Task Respond_FakeResponseUrl_Posted()
    {
        await Client().RespondAsync(_slack.ResponseUrl("r9"), new SlackMessage("done") { ResponseType = "ephemeral" }, default);

        var (id, body) = Assert.Single(_slack.Responses);
        Assert.Equal("r9", id);
        Assert.Equal("done", (string?)body["text"]);
    }
}
