namespace IncidentBot.Slack.WebApi;

/// <summary>Who the bot is (from <c>auth.test</c>), asked once and remembered.</summary>
public sealed class SlackBotIdentity : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SlackAuth? _auth;

    public async Task<SlackAuth> GetAsync(ISlackApi slack, CancellationToken cancellationToken)
    {
        if (_auth is { } known)
        {
            return known;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _auth ??= await slack.AuthTestAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
