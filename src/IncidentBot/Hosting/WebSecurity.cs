using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace IncidentBot.Hosting;

/// <summary>Reverse proxies whose <c>X-Forwarded-For</c>/<c>-Proto</c> are believed. None by default: no header is believed.</summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>Proxy addresses, e.g. <c>10.0.0.5</c>.</summary>
    public IList<string> KnownProxies { get; } = [];

    /// <summary>Proxy networks in CIDR notation, e.g. <c>10.0.0.0/24</c>.</summary>
    public IList<string> KnownNetworks { get; } = [];

    public bool Any => KnownProxies.Any(p => !string.IsNullOrWhiteSpace(p)) || KnownNetworks.Any(n => !string.IsNullOrWhiteSpace(n));
}

internal sealed class ForwardedHeadersSettingsValidator : IValidateOptions<ForwardedHeadersSettings>
{
    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        var failures = options.KnownProxies
            .Select((p, i) => string.IsNullOrWhiteSpace(p) || IPAddress.TryParse(p.Trim(), out _) ? null : $"ForwardedHeaders:KnownProxies:{i} must be an IP address such as 10.0.0.5 (was '{p}')")
            .Concat(options.KnownNetworks.Select((n, i) => string.IsNullOrWhiteSpace(n) || System.Net.IPNetwork.TryParse(n.Trim(), out _) ? null : $"ForwardedHeaders:KnownNetworks:{i} must be a network such as 10.0.0.0/24 (was '{n}')"))
            .OfType<string>()
            .ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What every request meets before the endpoints: forwarded headers from known proxies only, body limits, security headers.</summary>
internal static class WebSecurity
{
    /// <summary>Kestrel-wide body limit; endpoints that need more (or less) set their own before reading.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    // default-src 'self' with nothing inline: the dashboard's script and styles are files, its charts are SVG with classes.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static IHostApplicationBuilder AddWebSecurity(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes);

        builder.Services.AddOptions<ForwardedHeadersSettings>().BindConfiguration(ForwardedHeadersSettings.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ForwardedHeadersSettings>, ForwardedHeadersSettingsValidator>();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((forwarded, settings) =>
        {
            // ASP.NET Core believes any sender when both lists are empty, and trusts loopback by default: start from nothing.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            forwarded.ForwardLimit = null;
            if (!settings.Value.Any)
            {
                forwarded.ForwardedHeaders = ForwardedHeaders.None;
                return;
            }

            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            foreach (var proxy in settings.Value.KnownProxies.Where(p => !string.IsNullOrWhiteSpace(p)))
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy.Trim()));
            }

            foreach (var network in settings.Value.KnownNetworks.Where(n => !string.IsNullOrWhiteSpace(n)))
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network.Trim()));
            }
        });

        builder.Services.AddSingleton<Listeners>();
        builder.Services.AddHostedService<ListenerGuard>();
        return builder;
    }

    /// <summary>Forwarded headers (known proxies only) first, so everything after sees the real client and scheme.</summary>
    public static IApplicationBuilder UseWebSecurity(this IApplicationBuilder app)
    {
        app.UseForwardedHeaders();
        return app.Use((http, next) =>
        {
            http.Response.OnStarting(SetSecurityHeaders, http.Response);
            return next(http);
        });
    }

    private static Task SetSecurityHeaders(object state)
    {
        var headers = ((HttpResponse)state).Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "same-origin";
        return Task.CompletedTask;
    }
}

/// <summary>A per-endpoint body limit, applied by routing before the endpoint reads anything (413 past it).</summary>
internal sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;
