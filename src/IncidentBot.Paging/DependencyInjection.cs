using IncidentBot.Core.Security;
using IncidentBot.Paging.Inbound;
using IncidentBot.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

public static class DependencyInjection
{
    /// <summary>
    /// Pagers (<c>Paging:*</c>: PagerDuty, Opsgenie, signed webhook; each on when its credential is set), the page
    /// ledger with its sweeper (pages whose sender died are sent again), and the escalation policy
    /// (<c>Escalation:*</c>), validated at start-up. With nothing configured nobody is paged and the timeline says so.
    /// </summary>
    public static IHostApplicationBuilder AddPaging(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        // Binding twice would append configured lists (levels, targets) twice.
        if (services.Any(d => d.ServiceType == typeof(PagingService)))
        {
            return builder;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<PagingOptions>().BindConfiguration(PagingOptions.Section).ValidateOnStart();
        services.AddOptions<EscalationOptions>().BindConfiguration(EscalationOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PagingOptions>, PagingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EscalationOptions>, EscalationOptionsValidator>());

        // The pagers' own webhooks (acks and resolves made there), each on when its secret or token is set: POST /paging/* (MapPaging).
        services.TryAddSingleton<FailureLimiter>();
        services.TryAddSingleton<PagerWebhookHandler>();
        services.TryAddSingleton<PagerWebhookReceiver>();

        services.AddHttpClient(PagerHttp.ClientName);
        services.TryAddSingleton<PagerHttp>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, PagerDutyPager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, OpsgeniePager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, WebhookPager>());
        builder.AddTables(PagingTables.Set);
        services.TryAddSingleton<PageLedger>();
        services.TryAddSingleton<EscalationPolicy>();
        services.TryAddSingleton<PagingService>();
        services.TryAddSingleton<PageSweeperSignal>();
        services.TryAddSingleton<PageSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<PageSweeper>());
        return builder;
    }

    /// <summary><c>POST /paging/pagerduty</c> (v3 webhook subscriptions) and <c>POST /paging/opsgenie</c> (outgoing Webhook integration).</summary>
    public static IEndpointRouteBuilder MapPaging(this IEndpointRouteBuilder endpoints)
    {
        // The size limits are endpoint metadata, so Kestrel itself stops reading past them (routing sets the request's limit).
        var paging = endpoints.MapGroup("/paging").DisableAntiforgery();
        paging.MapPost("/pagerduty", (HttpContext http, PagerWebhookReceiver receiver, CancellationToken ct) => receiver.PagerDutyAsync(http, ct))
            .WithMetadata(new RequestSizeLimitAttribute(PagerWebhookReceiver.MaxPagerDutyBodyBytes));
        paging.MapPost("/opsgenie", (HttpContext http, PagerWebhookReceiver receiver, CancellationToken ct) => receiver.OpsgenieAsync(http, ct))
            .WithMetadata(new RequestSizeLimitAttribute(PagerWebhookReceiver.MaxOpsgenieBodyBytes));
        return endpoints;
    }
}
