using System.Data.Common;
using IncidentBot.Storage;

namespace IncidentBot.Hosting;

/// <summary>
/// Work the database could not take (down, restarting, read-only, full, or every pooled connection busy past the
/// request's wait, <c>Database:PoolWait</c>) is refused with 503 and a Retry-After, never
/// acknowledged: Slack retries an event, the Bot Connector redelivers an activity, a person sees that it failed. The
/// stores have already retried what usually passes (<see cref="Storage.TransientRetry"/>).
/// </summary>
internal static partial class StoreOutages
{
    public const int RetryAfterSeconds = 5;

    public static IApplicationBuilder UseStoreOutages(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        try
        {
            await next(http);
        }
        catch (Exception ex) when (Find(ex) is { } failure && !http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
        {
            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("IncidentBot.StoreOutages");
            if (failure is StorePoolExhaustedException)
            {
                LogBusy(logger, http.Request.Method, http.Request.Path, failure.Message);
            }
            else
            {
                LogRefused(logger, http.Request.Method, http.Request.Path, failure.GetType().Name, failure.Message);
            }

            http.Response.Clear();
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "IncidentBot cannot store anything right now; nothing was done. Try again shortly.").ExecuteAsync(http);
        }
    });

    private static DbException? Find(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is DbException database)
            {
                return database;
            }

            if (current is AggregateException aggregate && aggregate.InnerExceptions.Select(Find).FirstOrDefault(f => f is not null) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Method} {Path} with 503: the database is busy ({Reason}); see /readyz for pool use and Database:MaxConnections to raise it")]
    private static partial void LogBusy(ILogger logger, string method, PathString path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused {Method} {Path} with 503: the database failed ({Error}: {Reason})")]
    private static partial void LogRefused(ILogger logger, string method, PathString path, string error, string reason);
}
