using System.Diagnostics;
using IncidentBot.Core.Security;
using IncidentBot.Slack.WebApi;
using IncidentBot.Core.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace IncidentBot.Hosting;

public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>OTLP/HTTP collector base address (e.g. http://otel-collector:4318); unset means no export.</summary>
    public Uri? OtlpEndpoint { get; set; }

    public string ServiceName { get; set; } = "incidentbot";
}

internal static class Telemetry
{
    /// <summary>
    /// Meters exported: ours, plus ASP.NET Core's request metrics (by route and status), HttpClient's and Npgsql's
    /// (connections by pool and state, pending requests, timeouts; the store's pool is named <c>incidentbot-store</c>).
    /// </summary>
    private static readonly string[] Meters = [IncidentBotTelemetry.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", "Npgsql"];

    private static readonly string[] Sources = [IncidentBotTelemetry.Name, "Microsoft.AspNetCore", "System.Net.Http"];

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.OtlpEndpoint is not { } endpoint)
        {
            return builder;
        }

        // Built by the container so that disposing it at shutdown flushes what is still buffered.
        builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(options.ServiceName))
            .AddMeter(Meters)
            .AddOtlpExporter(otlp => Configure(otlp, endpoint, "v1/metrics"))
            .Build());
        builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService(options.ServiceName))
            .AddSource(Sources)
            .AddProcessor(new UrlRedactionProcessor())
            .AddOtlpExporter(otlp => Configure(otlp, endpoint, "v1/traces"))
            .Build());
        builder.Services.AddHostedService<TelemetryStarter>();
        return builder;
    }

    /// <summary>Records how long chat platforms and pagers (PagerDuty allows 5 s) wait for our acknowledgement.</summary>
    public static IApplicationBuilder UseAckTiming(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        var platform = http.Request.Path.StartsWithSegments("/slack") ? "slack"
            : http.Request.Path.StartsWithSegments("/api/messages") ? "teams"
            : http.Request.Path.StartsWithSegments("/paging") ? "pager"
            : null;
        if (platform is null)
        {
            await next(http);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            IncidentBotTelemetry.AckDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                new KeyValuePair<string, object?>("platform", platform),
                new KeyValuePair<string, object?>("endpoint", RouteTemplate(http)),
                new KeyValuePair<string, object?>("status", http.Response.StatusCode));
        }
    });

    /// <summary>The matched route's template (<c>/slack/events</c>); callers never choose a series by inventing paths.</summary>
    private static string RouteTemplate(HttpContext http) =>
        http.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } template } ? "/" + template.TrimStart('/') : "(unmatched)";

    private static void Configure(OtlpExporterOptions otlp, Uri endpoint, string signalPath)
    {
        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
        otlp.Endpoint = new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath);
    }
}

/// <summary>
/// Traces keep no capability URLs or tokens: URL tags (HttpClient's <c>url.full</c> and older names) are cut to what
/// identifies the call, before any exporter sees the span.
/// </summary>
internal sealed class UrlRedactionProcessor : BaseProcessor<Activity>
{
    private static readonly string[] UrlTags = ["url.full", "http.url", "url.original"];

    public override void OnEnd(Activity data)
    {
        foreach (var tag in UrlTags)
        {
            if (data.GetTagItem(tag) is string value)
            {
                data.SetTag(tag, Uri.TryCreate(value, UriKind.Absolute, out var url) ? CapabilityUrls.Redact(url) : "[redacted]");
            }
        }

        if (data.GetTagItem("url.query") is string { Length: > 0 })
        {
            data.SetTag("url.query", "[redacted]");
        }
    }
}

/// <summary>Creates the providers when the host starts, so they listen from the first request on.</summary>
internal sealed class TelemetryStarter(MeterProvider meters, TracerProvider traces) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // Bounded, so an unreachable collector cannot hold up shutdown.
        meters.ForceFlush(5000);
        traces.ForceFlush(5000);
        return Task.CompletedTask;
    }
}
