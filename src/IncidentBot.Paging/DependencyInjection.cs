using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

public static class DependencyInjection
{
    /// <summary>
    /// Pagers (<c>Paging:*</c>: PagerDuty, Opsgenie, signed webhook; each on when its credential is set), the page
    /// ledger with its sweeper (pages whose sender died are sent again), and the escalation policy
    /// (<c>Escalation:*</c>), validated at start-up. With nothing configured nobody is paged and the timeline says so.
    /// </summary>
    public static IServiceCollection AddPaging(this IServiceCollection services)
    {
        // The scheduler adds paging for its escalations; binding twice would append configured lists (levels, targets) twice.
        if (services.Any(d => d.ServiceType == typeof(PagingService)))
        {
            return services;
        }

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<PagingOptions>().BindConfiguration(PagingOptions.Section).ValidateOnStart();
        services.AddOptions<EscalationOptions>().BindConfiguration(EscalationOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PagingOptions>, PagingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EscalationOptions>, EscalationOptionsValidator>());

        services.AddHttpClient(PagerHttp.ClientName);
        services.TryAddSingleton<PagerHttp>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, PagerDutyPager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, OpsgeniePager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPager, WebhookPager>());
        services.TryAddSingleton<PageLedger>();
        services.TryAddSingleton<EscalationPolicy>();
        services.TryAddSingleton<PagingService>();
        services.TryAddSingleton<PageSweeperSignal>();
        services.TryAddSingleton<PageSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<PageSweeper>());
        return services;
    }
}
