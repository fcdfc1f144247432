using IncidentBot.Core.Application;
using IncidentBot.Teams.Activities;
using IncidentBot.Teams.Auth;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Events;
using IncidentBot.Teams.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Teams;

public static partial class DependencyInjection
{
    /// <summary>
    /// The Teams front-end: Bot Connector authentication, activity routing, connector client, war-room handler.
    /// Configured from <c>Teams:*</c>; with no <c>Teams:AppId</c> it runs in local mode (Agents Playground).
    /// </summary>
    public static IHostApplicationBuilder AddTeams(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<TeamsOptions>().BindConfiguration(TeamsOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TeamsOptions>, TeamsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(nameof(BotAuthenticator), c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient(nameof(BotTokenProvider), c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddHttpClient(nameof(ConnectorClient), c => c.Timeout = TimeSpan.FromSeconds(30));
        // Singletons, not typed clients: they hold the token cache and the per-conversation pacing.
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BotTokenProvider>(sp, Client(sp, nameof(BotTokenProvider))));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConnectorClient>(sp, Client(sp, nameof(ConnectorClient))));

        services.AddSingleton<BotAuthenticator>();
        services.AddSingleton<ServiceUrlPolicy>();
        services.AddSingleton<TeamsStore>();
        services.AddSingleton<TeamsBot>();
        services.AddSingleton<ReplySender>();
        services.AddHostedService(sp => sp.GetRequiredService<ReplySender>());
        services.AddHostedService<TeamsStartupLog>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncidentEventHandler, TeamsWarRoomHandler>());
        return builder;
    }

    private static HttpClient Client(IServiceProvider services, string name) =>
        services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    /// <summary><c>POST /api/messages</c>, the Bot Framework messaging endpoint.</summary>
    public static IEndpointRouteBuilder MapTeams(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/api/messages", MessagesEndpoint.HandleAsync).DisableAntiforgery();
        return app;
    }

    private sealed partial class TeamsStartupLog(IOptions<TeamsOptions> options, ILogger<TeamsStartupLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.IsAnonymous)
            {
                LogLocalMode(logger);
            }
            else
            {
                LogConfigured(logger, options.Value.AppId);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Warning, Message = "TEAMS LOCAL MODE: Teams:AppId is empty, so POST /api/messages accepts activities WITHOUT authentication and replies only to loopback hosts (Agents Playground). Set Teams:AppId, Teams:AppPassword and Teams:TenantId for real Teams.")]
        private static partial void LogLocalMode(ILogger logger);

        [LoggerMessage(Level = LogLevel.Information, Message = "Teams: Bot Framework authentication on for app {AppId}")]
        private static partial void LogConfigured(ILogger logger, string appId);
    }
}
