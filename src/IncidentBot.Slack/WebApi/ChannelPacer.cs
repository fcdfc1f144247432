using System.Collections.Concurrent;

namespace IncidentBot.Slack.WebApi;

/// <summary>Keeps posts to one channel in order and about one per interval apart, as Slack displays them.</summary>
public sealed class ChannelPacer(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    public async Task<IAsyncDisposable> WaitTurnAsync(string channel, TimeSpan interval, CancellationToken cancellationToken)
    {
        var lane = _lanes.GetOrAdd(channel, _ => new Lane());
        await lane.Gate.WaitAsync(cancellationToken);
        var wait = lane.NextAt - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(wait, time, cancellationToken);
            }
            catch
            {
                lane.Gate.Release();
                throw;
            }
        }

        return new Turn(lane, time, interval);
    }

    private sealed class Lane
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public DateTimeOffset NextAt { get; set; }
    }

    private sealed class Turn(Lane lane, TimeProvider time, TimeSpan interval) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lane.NextAt = time.GetUtcNow() + interval;
            lane.Gate.Release();
            return ValueTask.CompletedTask;
        }
    }
}
