using System.Collections.Concurrent;
using System.Text;
using IncidentBot.Core.Incidents;
using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.Slack.Tests;

/// <summary>
/// The postmortem draft from Slack, over signed HTTP against the fake Slack: the link message goes to the whole
/// war room, the Markdown follows as a file in its thread, and a refused upload still leaves the links.
/// </summary>
public sealed class PostmortemTests : IAsyncLifetime
{
    private const string Ann = "UANN00001";
    private const string Bob = "UBOB00001";
    private const string Page = "https://incidents.example.com/incidents/INC-1";
    private const string Markdown = "https://incidents.example.com/incidents/INC-1/postmortem.md";

    private readonly SqliteTestDatabase _database = new();
    private readonly CapturedLogs _logs = new();
    private FakeSlackServer _slack = null!;
    private FakeChannel _general = null!;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        _slack = await FakeSlackServer.StartAsync();
        _general = _slack.AddChannel("general");
        _slack.AddUser(Ann, "ann");
        _slack.AddUser(Bob, "bob");
    }

    public async Task DisposeAsync()
    {
        await _slack.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Command_InWarRoom_PostsLinksToChannelAndDraftAsFileInThread(bool socketMode)
    {
        await using var host = Start(socketMode: socketMode);
        var room = await DeclareAsync(host);

        var answer = await host.Transport.CommandAsync(SlackPayloads.Command("postmortem", Bob, "bob", room.Id));

        Assert.False(answer.TryGetProperty("response_type", out _), "the draft is posted by the bot, not as a private answer");
        var post = await WaitForLinkPostAsync(room);
        var file = await WaitForFileAsync(room);
        Assert.Equal(post.Ts, file.ThreadTs);
        Assert.Equal("INC-1-postmortem.md", file.Name);
        Assert.Equal("INC-1 postmortem draft", file.Title);
        var markdown = Encoding.UTF8.GetString(file.Content!);
        Assert.StartsWith("#", markdown, StringComparison.Ordinal);
        Assert.Contains("Checkout is down", markdown, StringComparison.Ordinal);
        Assert.False(file.UploadCarriedToken, "the upload URL is pre-signed; the bot token stays with slack.com/api");
        Assert.All(_slack.CallsTo("files.getUploadURLExternal").Concat(_slack.CallsTo("files.completeUploadExternal")),
            c => Assert.Equal(FakeSlackServer.BotToken, c.Token));
        Assert.Empty(_slack.Rejections);
    }

    [Fact]
    public async Task CardButton_Postmortem_PostsLikeTheCommand()
    {
        await using var host = Start();
        var room = await DeclareAsync(host);
        await FakeSlackServer.WaitUntilAsync(() => room.Messages.Values.Any(m => m.Blocks.Raw().Contains(SlackIds.PostmortemAction, StringComparison.Ordinal)), "the card's Postmortem button");

        await host.Transport.InteractionAsync(SlackPayloads.BlockAction(Bob, "bob", room.Id, "card:INC-1:state", SlackPayloads.ButtonAction(SlackIds.PostmortemAction, "INC-1")));

        var post = await WaitForLinkPostAsync(room);
        Assert.Equal(post.Ts, (await WaitForFileAsync(room)).ThreadTs);
    }

    [Fact]
    public async Task Upload_MissingFilesWriteScope_LinksStillPostedAndRefusalLogged()
    {
        _slack.Script("files.getUploadURLExternal", SlackFault.Fails("missing_scope"));
        await using var host = Start();
        var room = await DeclareAsync(host);

        await host.Transport.CommandAsync(SlackPayloads.Command("postmortem", Bob, "bob", room.Id));

        await WaitForLinkPostAsync(room);
        await FakeSlackServer.WaitUntilAsync(
            () => _logs.Messages.Any(m => m.Contains("missing_scope", StringComparison.Ordinal) && m.Contains("files:write", StringComparison.Ordinal)),
            "the logged refusal");
        Assert.Empty(_slack.CallsTo("files.completeUploadExternal"));
        Assert.DoesNotContain(_slack.Files.Values, f => f.Shared);
    }

    [Fact]
    public async Task Upload_CompleteRefused_LinksStillPosted()
    {
        await using var host = Start();
        var room = await DeclareAsync(host);
        _slack.Script("files.completeUploadExternal", SlackFault.Fails("file_uploads_disabled"));

        await host.Transport.CommandAsync(SlackPayloads.Command("postmortem", Bob, "bob", room.Id));

        await WaitForLinkPostAsync(room);
        await FakeSlackServer.WaitUntilAsync(() => _logs.Messages.Any(m => m.Contains("file_uploads_disabled", StringComparison.Ordinal)), "the logged refusal");
        Assert.DoesNotContain(_slack.Files.Values, f => f.Shared);
    }

    [Fact]
    public async Task Command_OutsideWarRoom_AnswersPrivatelyWithLinks()
    {
        await using var host = Start();
        await DeclareAsync(host);

        var answer = await host.Transport.CommandAsync(SlackPayloads.Command("postmortem INC-1", Ann, "ann", _general.Id));

        Assert.Equal("ephemeral", answer.GetProperty("response_type").GetString());
        var blocks = answer.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString();
        Assert.Contains($"<{Page}|", blocks, StringComparison.Ordinal);
        Assert.Contains($"<{Markdown}|", blocks, StringComparison.Ordinal);
        await Task.Delay(300);
        Assert.DoesNotContain(_general.Messages.Values, m => m.Text.Contains("Postmortem draft", StringComparison.Ordinal));
        Assert.Empty(_slack.CallsTo("files.getUploadURLExternal"));
    }

    [Fact]
    public async Task Command_NoPublicUrl_PostsHintAndTheFile()
    {
        await using var host = Start(publicUrl: null);
        var room = await DeclareAsync(host);

        await host.Transport.CommandAsync(SlackPayloads.Command("postmortem", Bob, "bob", room.Id));

        await FakeSlackServer.WaitUntilAsync(() => room.Messages.Values.Any(m => m.Text.Contains("Dashboard:PublicUrl", StringComparison.Ordinal)), "the hint");
        await WaitForFileAsync(room);
    }

    private SlackHost Start(string? publicUrl = "https://incidents.example.com/", bool socketMode = false) =>
        SlackHost.Start(
            _database,
            _slack,
            socketMode,
            new Dictionary<string, string?> { ["Dashboard:PublicUrl"] = publicUrl },
            services => services.AddSingleton<ILoggerProvider>(_logs));

    private async Task<FakeChannel> DeclareAsync(SlackHost host)
    {
        await host.Transport.CommandAsync(SlackPayloads.Command("declare sev2 Checkout is down", Ann, "ann", _general.Id));
        var incident = await host.WaitForWarRoomAsync(new IncidentNumber(1));
        var room = _slack.Channels[incident.WarRooms.Single().Channel];
        await FakeSlackServer.WaitUntilAsync(() => !room.Messages.IsEmpty, "the card");
        return room;
    }

    private static async Task<FakeMessage> WaitForLinkPostAsync(FakeChannel room)
    {
        FakeMessage? post = null;
        await FakeSlackServer.WaitUntilAsync(
            () => (post = room.Messages.Values.FirstOrDefault(m => m.Text.StartsWith("Postmortem draft for INC-1", StringComparison.Ordinal))) is not null,
            "the postmortem links in the war room");
        var blocks = post!.Blocks.Raw();
        Assert.Contains($"<{Page}|Open it on the dashboard>", blocks, StringComparison.Ordinal);
        Assert.Contains($"<{Markdown}|Markdown>", blocks, StringComparison.Ordinal);
        return post;
    }

    private async Task<FakeFile> WaitForFileAsync(FakeChannel room)
    {
        FakeFile? file = null;
        await FakeSlackServer.WaitUntilAsync(() => (file = _slack.Files.Values.FirstOrDefault(f => f.Shared && f.Channel == room.Id)) is not null, "the draft shared as a file");
        return file!;
    }

    /// <summary>Keeps the host's log lines so a test can see what was reported.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IEnumerable<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Logger(_messages);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
