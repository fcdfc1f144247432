using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;
using IncidentBot.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Api;

internal static class IncidentApi
{
    public static IHostApplicationBuilder AddApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        builder.Services.AddSingleton<AccessPolicy>();
        builder.Services.TryAddSingleton<FailureLimiter>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default));
        return builder;
    }

    public static IEndpointRouteBuilder MapIncidentApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/incidents").AddEndpointFilter<ApiAccessFilter>();
        api.MapGet("/", ListAsync);
        api.MapGet("/{number}", GetAsync);
        api.MapGet("/{number}/timeline", GetTimelineAsync);
        api.MapGet("/{number}/postmortem.md", GetPostmortemAsync);
        return app;
    }

    private static async Task<Results<Ok<IncidentListDto>, BadRequest<ErrorDto>>> ListAsync(
        IIncidentStore store, AccessPolicy access, HttpContext http, string? status, int? limit, CancellationToken ct)
    {
        var openOnly = status?.ToLowerInvariant() switch
        {
            null or "" or "all" => false,
            "open" => true,
            _ => (bool?)null,
        };
        if (openOnly is null)
        {
            return TypedResults.BadRequest(new ErrorDto("status must be 'open' or 'all'."));
        }

        if (limit is < 1 or > 500)
        {
            return TypedResults.BadRequest(new ErrorDto("limit must be between 1 and 500."));
        }

        var incidents = await store.ListAsync(new IncidentQuery(openOnly.Value, limit ?? 100) { PublicOnly = !access.SeesPrivate(http) }, ct);
        return TypedResults.Ok(new IncidentListDto(incidents.Select(IncidentDto.From).ToList()));
    }

    private static async Task<Results<Ok<IncidentDto>, NotFound<ErrorDto>, BadRequest<ErrorDto>>> GetAsync(
        IIncidentStore store, AccessPolicy access, HttpContext http, string number, CancellationToken ct)
    {
        var (incident, error) = await FindAsync(store, access.SeesPrivate(http), number, ct);
        return incident is not null ? TypedResults.Ok(IncidentDto.From(incident)) : error!.Value.AsResult<IncidentDto>();
    }

    private static async Task<Results<Ok<TimelineDto>, NotFound<ErrorDto>, BadRequest<ErrorDto>>> GetTimelineAsync(
        IIncidentStore store, AccessPolicy access, HttpContext http, string number, CancellationToken ct)
    {
        var (incident, error) = await FindAsync(store, access.SeesPrivate(http), number, ct);
        if (incident is null)
        {
            return error!.Value.AsResult<TimelineDto>();
        }

        var entries = await store.GetTimelineAsync(incident.Id, ct);
        return TypedResults.Ok(new TimelineDto(incident.Number.ToString(), entries.Select(TimelineEntryDto.From).ToList()));
    }

    private static async Task<IResult> GetPostmortemAsync(
        PostmortemService postmortems, IncidentLinks links, AccessPolicy access, HttpContext http, string number, CancellationToken ct)
    {
        if (!IncidentNumber.TryParse(number, out var parsed))
        {
            return TypedResults.BadRequest(new ErrorDto($"'{number}' is not an incident number; use 42 or INC-42."));
        }

        var markdown = await postmortems.GetMarkdownAsync(parsed, links.IncidentPage(parsed), access.SeesPrivate(http), ct);
        return markdown is null
            ? TypedResults.NotFound(new ErrorDto($"{parsed} does not exist."))
            : TypedResults.Text(markdown, "text/markdown; charset=utf-8");
    }

    /// <summary>A private incident the caller may not see answers exactly like one that does not exist.</summary>
    private static async Task<(Incident? Incident, LookupError? Error)> FindAsync(IIncidentStore store, bool seesPrivate, string number, CancellationToken ct)
    {
        if (!IncidentNumber.TryParse(number, out var parsed))
        {
            return (null, new LookupError(false, $"'{number}' is not an incident number; use 42 or INC-42."));
        }

        var incident = await store.GetAsync(parsed, ct);
        return incident is null || incident.IsPrivate && !seesPrivate ? (null, new LookupError(true, $"{parsed} does not exist.")) : (incident, null);
    }

    private readonly record struct LookupError(bool NotFound, string Message)
    {
        public Results<Ok<T>, NotFound<ErrorDto>, BadRequest<ErrorDto>> AsResult<T>() =>
            NotFound ? TypedResults.NotFound(new ErrorDto(Message)) : TypedResults.BadRequest(new ErrorDto(Message));
    }
}
