using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Postmortems;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IncidentBot.Core;

public static class DependencyInjection
{
    /// <summary>The incident engine. A store (<see cref="IIncidentStore"/>) must be registered too.</summary>
    public static IServiceCollection AddIncidentEngine(this IServiceCollection services, Action<UpdateCadence>? configureCadence = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        var cadence = services.AddOptions<UpdateCadence>();
        if (configureCadence is not null)
        {
            cadence.Configure(configureCadence);
        }

        services.AddSingleton<IncidentService>();
        // The scheduler replaces it with the page ledger and timers.
        services.TryAddSingleton<IEscalationStateReader, NoEscalationState>();
        services.AddSingleton<CommandDispatcher>();
        services.AddSingleton<PostmortemService>();
        services.AddOptions<IncidentLinkOptions>();
        services.AddSingleton<IncidentLinks>();
        services.AddOptions<OutboxOptions>();
        services.TryAddSingleton<OutboxSignal>();
        services.AddSingleton<OutboxProcessor>();
        services.AddHostedService(sp => sp.GetRequiredService<OutboxProcessor>());
        return services;
    }
}
