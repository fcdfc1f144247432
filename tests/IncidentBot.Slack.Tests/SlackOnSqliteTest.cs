using IncidentBot.TestKit.Databases;
using IncidentBot.TestKit.Slack;

namespace IncidentBot.Slack.Tests;

/// <summary>A test class with a SQLite database and a fake Slack of its own, made before each test and gone after it.</summary>
public abstract class SlackOnSqliteTest : IAsyncLifetime
{
    protected SqliteTestDatabase Database { get; } = new();

    protected FakeSlackServer FakeSlack { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        FakeSlack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await FakeSlack.DisposeAsync();
        await Database.DisposeAsync();
    }
}
