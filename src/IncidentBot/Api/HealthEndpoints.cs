using IncidentBot.Scheduling;
using IncidentBot.Storage;

namespace IncidentBot.Api;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>/healthz</c>: the process answers. <c>/readyz</c>: the store and the scheduler work, and how the connection
    /// pools are used (busy, idle, waits and timeouts), so an operator sees an instance running short before it refuses.
    /// </summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Json(new HealthDto("ok", new Dictionary<string, string>()), ApiJsonContext.Default.HealthDto));
        app.MapGet("/readyz", async (IDatabaseHealth database, SchedulerHealth scheduler, ConnectionPools pools, CancellationToken ct) =>
        {
            var checks = new Dictionary<string, string>
            {
                ["database"] = await Check(() => database.IsReadyAsync(ct)),
                ["scheduler"] = await Check(() => scheduler.IsReadyAsync(ct)),
            };
            var ready = checks.Values.All(v => v == "ok");
            return TypedResults.Json(
                new ReadinessDto(
                    ready ? "ok" : "unavailable",
                    checks,
                    pools.Snapshot().ToDictionary(p => p.Key, p => new PoolDto(p.Value.Max, p.Value.Busy, p.Value.Idle, p.Value.Waiting, p.Value.Waits, p.Value.Timeouts))),
                ApiJsonContext.Default.ReadinessDto,
                statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        return app;
    }

    private static async Task<string> Check(Func<Task<bool>> probe)
    {
        try
        {
            return await probe() ? "ok" : "unavailable";
        }
        catch (Exception ex)
        {
            return $"failed: {ex.GetType().Name}";
        }
    }
}
