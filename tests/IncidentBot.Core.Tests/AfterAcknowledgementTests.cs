using System.Collections.Concurrent;
using IncidentBot.Core.Application;
using IncidentBot.TestKit;
using IncidentBot.TestKit.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace IncidentBot.Core.Tests;

/// <summary>
/// The queue both chat adapters send their after-the-acknowledgement work through, driven by gates and a fake clock:
/// bounded queue and concurrency, failures and hangs contained, timeouts, and the shutdown grace period.
/// </summary>
public sealed class AfterAcknowledgementTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);

    /// <summary>Never completes: work that waits on it hangs until it is cancelled.</summary>
    private static readonly TaskCompletionSource Hang = new();

    // The counter is process-wide: a name of its own keeps other tests' work out of this test's outcomes.
    private readonly string _work = "test." + Guid.NewGuid().ToString("N");
    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogger _logger = new();
    private readonly OutcomeRecorder _outcomes;
    private readonly List<AfterAcknowledgement> _queues = [];

    public AfterAcknowledgementTests() => _outcomes = new OutcomeRecorder(_work);

    public void Dispose()
    {
        foreach (var queue in _queues)
        {
            queue.Dispose();
        }

        _outcomes.Dispose();
    }

    [Fact]
    public async Task TryEnqueue_Started_RunsTheWorkAndCountsIt()
    {
        var queue = await StartAsync();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.True(queue.TryEnqueue(_work, "C-ROOM", TimeSpan.FromSeconds(10), _ => { ran.SetResult(); return Task.CompletedTask; }));

        await ran.Task.WaitAsync(Eventually.DefaultTimeout);
        await Eventually.HoldsAsync(() => _outcomes.Count("done") == 1, "the work counted as done");
    }

    [Fact]
    public async Task TryEnqueue_QueueFull_DropsWithWarningAndCountWithoutWaiting()
    {
        var queue = await StartAsync(capacity: 2, workers: 1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        var ran = new ConcurrentQueue<string>();
        Func<CancellationToken, Task> Gated(string name) => async ct =>
        {
            Interlocked.Increment(ref started);
            await gate.Task.WaitAsync(ct);
            ran.Enqueue(name);
        };

        Assert.True(queue.TryEnqueue(_work, "running", Long, Gated("running")));
        await Eventually.HoldsAsync(() => Volatile.Read(ref started) == 1, "the first work to start");
        Assert.True(queue.TryEnqueue(_work, "queued-1", Long, Gated("queued-1")));
        Assert.True(queue.TryEnqueue(_work, "queued-2", Long, Gated("queued-2")));

        // Synchronous and false: the request that queued it goes on at once.
        Assert.False(queue.TryEnqueue(_work, "C-DROPPED", Long, Gated("dropped")));

        Assert.Equal(1, _outcomes.Count("dropped"));
        var warning = Assert.Single(_logger.Collector.GetSnapshot(), r => r.Message.Contains("queue full", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("C-DROPPED", warning.Message, StringComparison.Ordinal);

        gate.SetResult();
        await Eventually.HoldsAsync(() => ran.Count == 3, "the queued work to run");

        // Had the dropped work been queued, the only worker would run it before this.
        var last = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.True(queue.TryEnqueue(_work, "last", Long, _ => { last.SetResult(); return Task.CompletedTask; }));
        await last.Task.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(["running", "queued-1", "queued-2"], ran.ToArray());
    }

    [Fact]
    public async Task Workers_Burst_RunAtMostTheWorkerCountAtOnce()
    {
        var queue = await StartAsync(workers: 3);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = 0, most = 0, finished = 0;
        for (var i = 0; i < 10; i++)
        {
            Assert.True(queue.TryEnqueue(_work, $"item-{i}", Long, async ct =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref most, now);
                await gate.Task.WaitAsync(ct);
                Interlocked.Decrement(ref running);
                Interlocked.Increment(ref finished);
            }));
        }

        await Eventually.HoldsAsync(() => Volatile.Read(ref running) == 3, "three workers busy");
        Assert.Equal(3, Volatile.Read(ref most));

        gate.SetResult();
        await Eventually.HoldsAsync(() => Volatile.Read(ref finished) == 10, "the whole burst to finish");
        Assert.Equal(3, Volatile.Read(ref most));
        await Eventually.HoldsAsync(() => _outcomes.Count("done") == 10, "ten counted as done");
    }

    [Fact]
    public async Task RunAsync_OneFailsOneHangs_TheOthersStillRun()
    {
        var queue = await StartAsync(workers: 2);
        var hangs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hung = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new ConcurrentQueue<int>();

        // Ignores its token on purpose: it holds one worker, never the other.
        queue.TryEnqueue(_work, "C-HANGS", Long, _ => { hung.TrySetResult(); return hangs.Task; });
        await hung.Task.WaitAsync(Eventually.DefaultTimeout);
        queue.TryEnqueue(_work, "C-FAILS", Long, _ => throw new InvalidOperationException("connector said no"));
        queue.TryEnqueue(_work, "C-ASYNC-FAILS", Long, async ct =>
        {
            await Task.Yield();
            throw new HttpRequestException("connection refused");
        });
        for (var i = 0; i < 3; i++)
        {
            var n = i;
            queue.TryEnqueue(_work, $"C-{n}", Long, _ => { done.Enqueue(n); return Task.CompletedTask; });
        }

        await Eventually.HoldsAsync(() => done.Count == 3, "the work behind the failing and hanging ones");
        await Eventually.HoldsAsync(() => _outcomes.Count("failed") == 2, "both failures counted");
        var failures = _logger.Collector.GetSnapshot().Where(r => r.Message.Contains("failed", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, f => Assert.Equal(LogLevel.Warning, f.Level));
        Assert.Contains(failures, f => f.Message.Contains("C-FAILS", StringComparison.Ordinal) && f.Exception is InvalidOperationException);
        Assert.Contains(failures, f => f.Message.Contains("C-ASYNC-FAILS", StringComparison.Ordinal) && f.Exception is HttpRequestException);
    }

    [Fact]
    public async Task RunAsync_PastItsTimeout_CancelsItAndTheWorkerMovesOn()
    {
        var queue = await StartAsync(workers: 1);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Sees its token cancelled, yet does not end: the only worker must still go on to the next.
        queue.TryEnqueue(_work, "C-SLOW", TimeSpan.FromSeconds(10), ct =>
        {
            ct.Register(() => cancelled.TrySetResult());
            started.SetResult();
            return new TaskCompletionSource().Task;
        });
        queue.TryEnqueue(_work, "C-NEXT", TimeSpan.FromSeconds(10), _ => { next.SetResult(); return Task.CompletedTask; });
        await started.Task.WaitAsync(Eventually.DefaultTimeout);

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(cancelled.Task.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        await cancelled.Task.WaitAsync(Eventually.DefaultTimeout);
        await next.Task.WaitAsync(Eventually.DefaultTimeout);
        await Eventually.HoldsAsync(() => _outcomes.Count("timed_out") == 1, "the timeout counted");
        Assert.Contains(_logger.Collector.GetSnapshot(), r => r.Level == LogLevel.Warning && r.Message.Contains("C-SLOW did not finish within 00:00:10", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_QueuedWork_RunsWithinTheGracePeriodThenTheRestIsCancelled()
    {
        var queue = await StartAsync(workers: 1, shutdownGrace: TimeSpan.FromSeconds(5));
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thirdRan = false;
        queue.TryEnqueue(_work, "C-FIRST", Long, async ct =>
        {
            firstStarted.SetResult();
            await first.Task.WaitAsync(ct);
        });
        queue.TryEnqueue(_work, "C-SECOND", Long, async ct =>
        {
            ct.Register(() => secondCancelled.TrySetResult());
            secondStarted.SetResult();
            await Hang.Task.WaitAsync(ct);
        });
        queue.TryEnqueue(_work, "C-THIRD", Long, _ => { thirdRan = true; return Task.CompletedTask; });
        await firstStarted.Task.WaitAsync(Eventually.DefaultTimeout);

        var stop = queue.StopAsync(CancellationToken.None);
        Assert.False(queue.TryEnqueue(_work, "C-TOO-LATE", Long, _ => Task.CompletedTask));

        // Within the grace period the queue still drains: the second starts once the first is done.
        first.SetResult();
        await secondStarted.Task.WaitAsync(Eventually.DefaultTimeout);
        Assert.False(stop.IsCompleted);

        _time.Advance(TimeSpan.FromSeconds(5));
        await stop.WaitAsync(Eventually.DefaultTimeout);
        await secondCancelled.Task.WaitAsync(Eventually.DefaultTimeout);
        Assert.False(thirdRan);
        Assert.Equal(1, _outcomes.Count("done"));
        Assert.Equal(3, _outcomes.Count("cancelled"));
        var logs = _logger.Collector.GetSnapshot();
        Assert.Contains(logs, r => r.Message.Contains("C-SECOND did not finish within the 00:00:05 shutdown grace period", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains("1 queued items did not start", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Message.Contains("shutting down, dropped", StringComparison.Ordinal) && r.Message.Contains("C-TOO-LATE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StopAsync_WorkFinishesInTime_ReturnsWithoutWaitingOutTheGracePeriod()
    {
        var queue = await StartAsync(workers: 2, shutdownGrace: TimeSpan.FromSeconds(5));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = 0;
        for (var i = 0; i < 4; i++)
        {
            queue.TryEnqueue(_work, $"C-{i}", Long, async ct =>
            {
                await gate.Task.WaitAsync(ct);
                Interlocked.Increment(ref finished);
            });
        }

        var stop = queue.StopAsync(CancellationToken.None);
        gate.SetResult();

        // The fake clock never moves: only the work finishing can end the stop.
        await stop.WaitAsync(Eventually.DefaultTimeout);
        Assert.Equal(4, Volatile.Read(ref finished));
        Assert.Equal(4, _outcomes.Count("done"));
        Assert.Equal(0, _outcomes.Count("cancelled"));
    }

    [Fact]
    public async Task StopAsync_TwiceAtOnceAndDisposedMeanwhile_BothEndWithoutThrowing()
    {
        // A host run by RunAsync and stopped from outside stops twice, and disposes while the other stop still waits.
        var queue = await StartAsync(workers: 1, shutdownGrace: TimeSpan.FromSeconds(5));
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.TryEnqueue(_work, "C-RUNNING", Long, async ct =>
        {
            started.SetResult();
            await Hang.Task.WaitAsync(ct);
        });
        await started.Task.WaitAsync(Eventually.DefaultTimeout);

        var first = queue.StopAsync(CancellationToken.None);
        var second = queue.StopAsync(CancellationToken.None);
        queue.Dispose();

        await first.WaitAsync(Eventually.DefaultTimeout);
        await second.WaitAsync(Eventually.DefaultTimeout);
        await Eventually.HoldsAsync(() => _outcomes.Count("cancelled") == 1, "the running work cancelled");
    }

    private async Task<AfterAcknowledgement> StartAsync(int capacity = 100, int workers = 4, TimeSpan? shutdownGrace = null)
    {
        var queue = new AfterAcknowledgement(capacity, workers, shutdownGrace ?? TimeSpan.FromSeconds(5), _time, _logger);
        _queues.Add(queue);
        await queue.StartAsync(CancellationToken.None);
        return queue;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
            seen = Volatile.Read(ref target);
        }
    }

    /// <summary>Outcomes counted on <c>incidentbot.after_ack.work</c> for one work name.</summary>
    private sealed class OutcomeRecorder(string work) : IDisposable
    {
        private readonly CounterRecorder _counter = new("incidentbot.after_ack.work", "work", "outcome");

        public int Count(string outcome) => _counter.Counted.Count(c => c.First == work && c.Second == outcome);

        public void Dispose() => _counter.Dispose();
    }
}
