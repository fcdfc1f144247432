using IncidentBot.Scheduling;
using IncidentBot.Storage;

namespace IncidentBot.Api;

internal static class HealthEndpoints
{
    /// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the store and the scheduler work.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Json(new HealthDto("ok", new Dictionary<string, string>()), ApiJsonContext.Default.HealthDto));
        app.MapGet("/readyz", async (IDatabaseHealth database, SchedulerHealth scheduler, CancellationToken ct) =>
        {
            var checks = new Dictionary<string, string>
            {
                ["database"] = await Check(() => database.IsReadyAsync(ct)),
                ["scheduler"] = await Check(() => scheduler.IsReadyAsync(ct)),
            };
            var ready = checks.Values.All(v => v == "ok");
            return TypedResults.Json(
                new HealthDto(ready ? "ok" : "unavailable", checks),
                ApiJsonContext.Default.HealthDto,
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
