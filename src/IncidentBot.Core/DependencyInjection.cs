using IncidentBot.Core.Application;
using IncidentBot.Core.Commands;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
using IncidentBot.Core.Postmortems;
using IncidentBot.Core.WarRooms;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IncidentBot.Core;

public static class DependencyInjection
{
    /// <summary>
    /// The incident engine, the outbox processor and the <see cref="AfterAcknowledgement"/> queue, with update cadences (<c>Reminders:Sev1</c>…<c>Sev4</c>) and outbox
    /// delivery (<c>Outbox:*</c>) bound and validated at start-up. A store (<see cref="IIncidentStore"/>) must be registered too.
    /// </summary>
    public static IHostApplicationBuilder AddIncidentEngine(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<UpdateCadence>().BindConfiguration(UpdateCadence.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UpdateCadence>, UpdateCadenceValidator>());
        services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section)
            .Validate(o => o.PollInterval > TimeSpan.Zero, "Outbox:PollInterval must be a positive time span such as 00:00:00.5")
            .Validate(o => o.Lease >= TimeSpan.FromSeconds(10), "Outbox:Lease must be at least 00:00:10 (longer than the slowest delivery)")
            .Validate(o => o.BatchSize is >= 1 and <= 1000, "Outbox:BatchSize must be between 1 and 1000")
            .Validate(o => o.MaxAttempts >= 1, "Outbox:MaxAttempts must be at least 1")
            .Validate(o => o.DeliveryTimeout > TimeSpan.Zero && o.DeliveryTimeout < o.Lease, "Outbox:DeliveryTimeout must be a positive time span shorter than Outbox:Lease")
            .Validate(o => o.CheckinInterval >= TimeSpan.FromSeconds(1) && o.CheckinInterval <= TimeSpan.FromMinutes(5), "Outbox:CheckinInterval must be between 00:00:01 and 00:05:00")
            .ValidateOnStart();

        services.TryAddSingleton<IncidentService>();
        // The scheduler replaces it with the page ledger and timers.
        services.TryAddSingleton<IEscalationStateReader, NoEscalationState>();
        services.AddOptions<PermissionOptions>().BindConfiguration(PermissionOptions.Section).ValidateOnStart();
        services.TryAddSingleton<IncidentAccess>();
        services.TryAddSingleton<CommandDispatcher>();
        services.TryAddSingleton<PostmortemService>();
        services.AddOptions<IncidentLinkOptions>().BindConfiguration(IncidentLinkOptions.Section);
        services.TryAddSingleton<IncidentLinks>();
        services.TryAddSingleton<OutboxSignal>();
        if (!services.Any(d => d.ServiceType == typeof(AfterAcknowledgement)))
        {
            // Registered before the front-ends: hosted services stop in reverse order, so this drains once nothing new is queued.
            services.AddSingleton<AfterAcknowledgement>();
            services.AddHostedService(sp => sp.GetRequiredService<AfterAcknowledgement>());
        }

        if (!services.Any(d => d.ServiceType == typeof(OutboxProcessor)))
        {
            services.AddSingleton<OutboxProcessor>();
            services.AddHostedService(sp => sp.GetRequiredService<OutboxProcessor>());
        }

        return builder;
    }

    /// <summary>
    /// A chat platform's war rooms (<typeparamref name="TWarRoom"/>, a singleton) and the <see cref="WarRoomProjection"/> that
    /// drives them from the outbox, in a lane of their own named after the platform. Registering the same type twice has no effect.
    /// </summary>
    public static IHostApplicationBuilder AddChatWarRoom<TWarRoom>(this IHostApplicationBuilder builder)
        where TWarRoom : class, IChatWarRoom
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(TWarRoom)))
        {
            return builder;
        }

        services.AddSingleton<TWarRoom>();
        services.AddSingleton<IIncidentEventHandler>(sp => ActivatorUtilities.CreateInstance<WarRoomProjection>(sp, (IChatWarRoom)sp.GetRequiredService<TWarRoom>()));
        return builder;
    }
}

internal sealed class UpdateCadenceValidator : IValidateOptions<UpdateCadence>
{
    public ValidateOptionsResult Validate(string? name, UpdateCadence options)
    {
        var negative = new[] { ("Sev1", options.Sev1), ("Sev2", options.Sev2), ("Sev3", options.Sev3), ("Sev4", options.Sev4) }
            .Where(c => c.Item2 is { } t && t <= TimeSpan.Zero)
            .Select(c => $"{UpdateCadence.Section}:{c.Item1} must be a positive time span such as 00:15:00, or empty for no reminders")
            .ToList();
        return negative.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(negative);
    }
}
