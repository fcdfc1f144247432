using IncidentBot.Core.Application;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IncidentBot.Storage;

/// <summary>
/// On PostgreSQL, wakes this instance's outbox when any instance stores events (<c>LISTEN</c>/<c>NOTIFY</c>), so idle
/// instances need not poll each other's work. It holds one connection of its own, outside the pool: a listening
/// session cannot be shared (nor pass through PgBouncer's transaction pooling), so it connects where
/// <c>Database:ListenConnectionString</c> says (PostgreSQL itself when the store goes through PgBouncer). While it is
/// not connected the outbox polls as before (<see cref="OutboxSignal.PushedAcrossInstances"/> is false).
/// </summary>
public sealed partial class OutboxListener(
    IOptions<DatabaseOptions> database, OutboxSignal signal, TimeProvider time, ILogger<OutboxListener> logger) : BackgroundService
{
    public const string Channel = "incidentbot_outbox";
    public const string NotifySql = $"SELECT pg_notify('{Channel}', '')";
    public const string ApplicationName = "incidentbot-outbox-listener";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(database.Value.GetListenConnectionString())
        {
            Pooling = false,
            ApplicationName = ApplicationName,
            // A half-open connection is noticed within about a minute.
            KeepAlive = 30,
        }.ConnectionString;
        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                connection.Notification += (_, _) => signal.Notify();
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                signal.PushedAcrossInstances = true;
                // Events stored while this was not listening are looked for once.
                signal.Notify();
                LogListening(logger);
                retry = FirstRetry;
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogListenFailed(logger, ex, retry);
            }
            finally
            {
                signal.PushedAcrossInstances = false;
            }

            await Task.Delay(retry, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            retry = retry * 2 < LongestRetry ? retry * 2 : LongestRetry;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listening for outbox events of every instance")]
    private static partial void LogListening(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not listening for other instances' outbox events (polling meanwhile); trying again in {Retry}")]
    private static partial void LogListenFailed(ILogger logger, Exception exception, TimeSpan retry);
}
