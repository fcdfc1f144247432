using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;

namespace IncidentBot.Storage;

/// <summary>
/// The one retry of database work, used by every store through <see cref="IDbConnectionFactory.RunAsync{T}"/>: a few
/// tries within about 1.5 s, each on a fresh connection. It covers the blips that pass on their own: the first use of a
/// pooled PostgreSQL connection after a restart or <c>pg_terminate_backend</c> (Npgsql 10 clears its pool when it meets
/// one, but the statement that met it fails), a reset connection, SQLite busy or locked. A longer outage still fails
/// the work, and its caller decides: a chat request is refused with 503 so the platform retries it, the outbox and the
/// timers try again later.
/// </summary>
public sealed partial class TransientRetry
{
    private readonly ResiliencePipeline _pipeline;

    public TransientRetry(TimeProvider time, ILogger<TransientRetry> logger)
    {
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(1),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && IsTransient(ex)),
                OnRetry = args =>
                {
                    LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception!.Message);
                    return default;
                },
            })
            .Build();
    }

    /// <summary>
    /// Whether a failure is likely to pass by itself: PostgreSQL sessions ended by an administrator or a restart
    /// (<c>57P01</c>..<c>57P03</c>), connection failures (class <c>08</c>, network errors, whatever Npgsql calls
    /// transient except a statement timeout), SQLite <c>SQLITE_BUSY</c> and <c>SQLITE_LOCKED</c>. A read-only or full
    /// database, or a bad statement, is not.
    /// </summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState is "57P01" or "57P02" or "57P03"
            || postgres.IsTransient,
        NpgsqlException npgsql => npgsql.IsTransient && npgsql.InnerException is not TimeoutException,
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked,
        _ => false,
    };

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    internal async Task<T> RunAsync<T>(IDbConnectionFactory database, Func<DbConnection, Task<T>> work, CancellationToken cancellationToken) =>
        await _pipeline.ExecuteAsync(
            static async (state, ct) =>
            {
                await using var connection = await state.database.OpenConnectionAsync(ct);
                return await state.work(connection);
            },
            (database, work),
            cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Database call failed for a reason that usually passes; trying again (attempt {Attempt}) in {Delay}: {Reason}")]
    private static partial void LogRetry(ILogger logger, int attempt, TimeSpan delay, string reason);
}

/// <summary>Shorthands for <see cref="IDbConnectionFactory.RunAsync{T}"/>.</summary>
public static class DatabaseWork
{
    /// <summary>As <see cref="IDbConnectionFactory.RunAsync{T}"/>, for work without a result.</summary>
    public static Task RunAsync(this IDbConnectionFactory database, Func<DbConnection, Task> work, CancellationToken cancellationToken) =>
        database.RunAsync(
            async connection =>
            {
                await work(connection);
                return true;
            },
            cancellationToken);
}
