using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.TestKit.Telemetry;

/// <summary>An OTLP/HTTP collector on loopback: accepts protobuf exports on /v1/metrics and /v1/traces and records them.</summary>
public sealed class FakeOtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeOtlpCollector(WebApplication app) => _app = app;

    /// <summary>One export; <see cref="Body"/> is the protobuf as sent, in which strings (attribute values) appear as UTF-8.</summary>
    public sealed record Export(string Path, string? ContentType, int Length, byte[] Body);

    public ConcurrentQueue<Export> Exports { get; } = new();

    public Uri Address { get; private set; } = null!;

    public static async Task<FakeOtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var collector = new FakeOtlpCollector(app);
        app.MapPost("/v1/{signal}", async (HttpRequest request, string signal) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            if (request.ContentType != "application/x-protobuf")
            {
                return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
            }

            collector.Exports.Enqueue(new Export("/v1/" + signal, request.ContentType, (int)body.Length, body.ToArray()));
            return Results.Ok();
        });
        await app.StartAsync();
        collector.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return collector;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
