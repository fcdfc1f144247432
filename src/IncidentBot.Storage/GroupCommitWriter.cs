using System.Data.Common;
using System.Diagnostics;
using System.Threading.Channels;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage;

/// <summary>
/// The instance's single writer of inbound appends (captured messages, notes, pins, edits): concurrent writes wait in a
/// bounded queue (<see cref="GroupCommitOptions.QueueLimit"/>; a caller finding it full waits) and are run together in
/// one transaction, up to <see cref="GroupCommitOptions.MaxBatch"/> of them or whatever arrived within
/// <see cref="GroupCommitOptions.MaxDelay"/>, so a busy war room costs one commit (one fsync) per batch instead of one
/// per message. A caller's task completes only after its batch committed. A write that fails is taken out of its batch
/// and reaches its own caller; the others run again without it, in a fresh transaction, and commit. A batch made only of
/// <see cref="WriteStatement"/>s goes to PostgreSQL as one command (one round trip; the statements up to its Sync are one
/// implicit transaction, so one commit); writes given as code, and every write on SQLite, run one after another inside an
/// explicit transaction.
/// </summary>
public sealed partial class GroupCommitWriter : IAsyncDisposable, IDisposable
{
    private const int MaxTransientAttempts = 5;

    private readonly IDbConnectionFactory _database;
    private readonly GroupCommitOptions _options;
    private readonly ILogger<GroupCommitWriter> _logger;
    private readonly Channel<PendingWrite> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public GroupCommitWriter(IDbConnectionFactory database, IOptions<GroupCommitOptions> options, ILogger<GroupCommitWriter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _database = database;
        _options = options.Value;
        _logger = logger;
        _queue = Channel.CreateBounded<PendingWrite>(new BoundedChannelOptions(_options.QueueLimit)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        // The writer serves requests: it must not inherit a background-work mark (an AsyncLocal) from whoever first
        // resolved it, or inbound writes would queue behind the background share of the pool.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(RunAsync);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in the next batch's transaction and returns its result once that transaction
    /// committed. The work may run more than once (when another write of its batch failed), each time in a fresh
    /// transaction, so it must do nothing but database work on the connection and transaction it is given.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        return await WriteAsync(new PendingWrite<T>(work, cancellationToken), cancellationToken);
    }

    private async Task<T> WriteAsync<T>(PendingResult<T> pending, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "The store is shutting down.");
        }

        return await pending.Result;
    }

    /// <summary>
    /// Runs <paramref name="statement"/> in the next batch and returns what <paramref name="read"/> made of its result
    /// set once the batch committed. <paramref name="read"/> may run more than once, like a write given as code.
    /// </summary>
    public async Task<T> WriteAsync<T>(WriteStatement statement, Func<DbDataReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ArgumentNullException.ThrowIfNull(read);
        return await WriteAsync(new PendingStatement<T>(statement, read, cancellationToken), cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<PendingWrite>(_options.MaxBatch);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            await FillAsync(batch, reader);
            if (batch.Count > 0)
            {
                await CommitAsync(batch);
                batch.Clear();
            }
        }
    }

    /// <summary>Takes what is queued and, unless that fills a batch, what arrived after <see cref="GroupCommitOptions.MaxDelay"/>.</summary>
    private async Task FillAsync(List<PendingWrite> batch, ChannelReader<PendingWrite> reader)
    {
        Take(batch, reader);
        if (batch.Count >= _options.MaxBatch || _options.MaxDelay <= TimeSpan.Zero)
        {
            return;
        }

        // Wall-clock time on purpose: this is a sub-millisecond throughput knob, not a business time a test would move. One
        // plain wait, not a wait for the next write cancelled by a timer: a cancelled wait costs an exception per batch.
        await Task.Delay(_options.MaxDelay, CancellationToken.None);
        Take(batch, reader);
    }

    private void Take(List<PendingWrite> batch, ChannelReader<PendingWrite> reader)
    {
        while (batch.Count < _options.MaxBatch && reader.TryRead(out var pending))
        {
            // A caller that gave up while queued (its request was aborted) is not written for.
            if (!pending.CancelIfAbandoned())
            {
                batch.Add(pending);
            }
        }
    }

    private async Task CommitAsync(List<PendingWrite> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var size = batch.Count;
        var remaining = new List<PendingWrite>(batch);
        var transientAttempt = 0;
        var oneByOne = false;
        var stopping = _stopping.Token;
        while (remaining.Count > 0)
        {
            PendingWrite? failed = null;
            Exception? failure = null;
            try
            {
                await using var connection = await _database.OpenConnectionAsync(stopping);
                if (!oneByOne && connection.CanCreateBatch && remaining.TrueForAll(pending => pending.Statement is not null))
                {
                    (failed, failure, oneByOne) = await RunTogetherAsync(connection, remaining, stopping);
                    if (oneByOne)
                    {
                        continue;
                    }
                }
                else
                {
                    (failed, failure) = await RunOneByOneAsync(connection, remaining, stopping);
                }
            }
            catch (Exception ex) when (TransientRetry.IsTransient(ex) && ++transientAttempt < MaxTransientAttempts)
            {
                // Nothing of this batch committed (or, a connection lost during COMMIT, perhaps all of it: the writes
                // dedupe or are appends, as with TransientRetry); it runs again on a fresh connection.
                LogTransient(_logger, remaining.Count, transientAttempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * transientAttempt), CancellationToken.None);
                continue;
            }
            catch (Exception ex)
            {
                LogBatchFailed(_logger, ex, remaining.Count);
                foreach (var pending in remaining)
                {
                    pending.Fail(ex);
                }

                return;
            }

            if (failed is null)
            {
                foreach (var pending in remaining)
                {
                    pending.Complete();
                }

                break;
            }

            LogItemFailed(_logger, failure!, remaining.Count - 1);
            failed.Fail(failure!);
            remaining.Remove(failed);
        }

        IncidentBotTelemetry.GroupCommitSize.Record(size);
        IncidentBotTelemetry.GroupCommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Sends the statements as one batch without a transaction block: PostgreSQL runs them as one implicit transaction
    /// that commits at the batch's end, or stops at the first error and rolls back. The error names its statement, whose
    /// write is then taken out; when it does not, the batch runs again one by one to find it.
    /// </summary>
    private static async Task<(PendingWrite? Failed, Exception? Failure, bool OneByOne)> RunTogetherAsync(
        DbConnection connection, List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateBatch();
        foreach (var pending in batch)
        {
            var statement = command.CreateBatchCommand();
            pending.Statement!.BindTo(statement);
            command.BatchCommands.Add(statement);
        }

        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            foreach (var pending in batch)
            {
                await pending.ReadAsync(reader, cancellationToken);
                await reader.NextResultAsync(cancellationToken);
            }

            return (null, null, false);
        }
        catch (DbException ex) when (!TransientRetry.IsTransient(ex))
        {
            var index = ex.BatchCommand is { } statement ? command.BatchCommands.IndexOf(statement) : -1;
            return index >= 0 ? (batch[index], ex, false) : (null, null, true);
        }
    }

    private static async Task<(PendingWrite? Failed, Exception? Failure)> RunOneByOneAsync(
        DbConnection connection, List<PendingWrite> batch, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginWriteAsync(cancellationToken);
        foreach (var pending in batch)
        {
            try
            {
                await pending.ExecuteAsync(connection, transaction, cancellationToken);
            }
            catch (Exception ex) when (!TransientRetry.IsTransient(ex) && ex is not OperationCanceledException)
            {
                await transaction.RollbackAsync(cancellationToken);
                return (pending, ex);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return (null, null);
    }

    /// <summary>Stops taking writes, lets the queued ones commit, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            await _stopping.CancelAsync();
        }

        _stopping.Dispose();
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_loop.Wait(TimeSpan.FromSeconds(10)))
        {
            _stopping.Cancel();
        }

        _stopping.Dispose();
    }

    private abstract class PendingWrite
    {
        public virtual WriteStatement? Statement => null;

        public abstract bool CancelIfAbandoned();

        public abstract Task ExecuteAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

        /// <summary>Reads this write's result set of a batch sent as one command (only writes with a statement).</summary>
        public virtual Task ReadAsync(DbDataReader reader, CancellationToken cancellationToken) => throw new NotSupportedException();

        public abstract void Complete();

        public abstract void Fail(Exception exception);
    }

    private abstract class PendingResult<T>(CancellationToken callerToken) : PendingWrite
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Result => _result.Task;

        protected T Value { get; set; } = default!;

        public override bool CancelIfAbandoned() => callerToken.IsCancellationRequested && _result.TrySetCanceled(callerToken);

        public override void Complete() => _result.TrySetResult(Value);

        public override void Fail(Exception exception) => _result.TrySetException(exception);
    }

    private sealed class PendingWrite<T>(Func<DbConnection, DbTransaction, CancellationToken, Task<T>> work, CancellationToken callerToken)
        : PendingResult<T>(callerToken)
    {
        public override async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
            Value = await work(connection, transaction, cancellationToken);
    }

    private sealed class PendingStatement<T>(WriteStatement statement, Func<DbDataReader, CancellationToken, Task<T>> read, CancellationToken callerToken)
        : PendingResult<T>(callerToken)
    {
        public override WriteStatement Statement => statement;

        public override async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        {
            await using var command = statement.CreateCommand(connection, transaction);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await ReadAsync(reader, cancellationToken);
        }

        public override async Task ReadAsync(DbDataReader reader, CancellationToken cancellationToken) =>
            Value = await read(reader, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Count} writes failed for a reason that usually passes; trying again (attempt {Attempt}): {Reason}")]
    private static partial void LogTransient(ILogger logger, int count, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A group commit of {Count} writes failed; each caller gets the error")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "One write of a group commit failed; its caller gets the error and the other {Count} run again")]
    private static partial void LogItemFailed(ILogger logger, Exception exception, int count);
}

/// <summary>
/// <c>Database:GroupCommit</c>: how the single writer batches inbound appends (<see cref="GroupCommitWriter"/>).
/// </summary>
public sealed class GroupCommitOptions
{
    public const string Section = "Database:GroupCommit";

    /// <summary>Writes committed together at most.</summary>
    public int MaxBatch { get; set; } = 256;

    /// <summary>Writes waiting at most; a caller finding the queue full waits for room (back-pressure).</summary>
    public int QueueLimit { get; set; } = 4096;

    /// <summary>How long a batch waits for more writes after its first; zero commits whatever is queued at once.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(1);
}

internal sealed class GroupCommitOptionsValidator : IValidateOptions<GroupCommitOptions>
{
    public ValidateOptionsResult Validate(string? name, GroupCommitOptions options)
    {
        if (options.MaxBatch is < 1 or > 10_000)
        {
            return ValidateOptionsResult.Fail($"{GroupCommitOptions.Section}:MaxBatch must be between 1 and 10000 (was {options.MaxBatch})");
        }

        if (options.QueueLimit < options.MaxBatch || options.QueueLimit > 1_000_000)
        {
            return ValidateOptionsResult.Fail(
                $"{GroupCommitOptions.Section}:QueueLimit must be between MaxBatch ({options.MaxBatch}) and 1000000 (was {options.QueueLimit})");
        }

        return options.MaxDelay < TimeSpan.Zero || options.MaxDelay > TimeSpan.FromMilliseconds(100)
            ? ValidateOptionsResult.Fail($"{GroupCommitOptions.Section}:MaxDelay must be between 00:00:00 and 00:00:00.100 (was {options.MaxDelay})")
            : ValidateOptionsResult.Success;
    }
}
