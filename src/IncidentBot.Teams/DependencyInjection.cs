using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Security;
using IncidentBot.Core.WarRooms;
using IncidentBot.Teams.Auth;
using IncidentBot.Teams.Connector;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Graph;
using IncidentBot.Teams.Meetings;
using IncidentBot.Teams.Handlers;
using IncidentBot.Teams.Inbound;
using IncidentBot.Teams.Outbound;
using IncidentBot.Teams.Storage;
using IncidentBot.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc;
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
    /// The Teams front-end: Bot Connector authentication, the activity dispatcher and its handlers, connector client, war-room handler.
    /// Configured from <c>Teams:*</c>; with no <c>Teams:AppId</c> it is off, or in local mode (Agents Playground)
    /// when the operator opted in (Development or <c>Teams:LocalMode=true</c>).
    /// </summary>
    public static IHostApplicationBuilder AddTeams(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<TeamsOptions>().BindConfiguration(TeamsOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TeamsOptions>, TeamsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(nameof(BotSigningKeys), c => c.Timeout = TimeSpan.FromSeconds(10));
        services.AddHttpClient(nameof(BotTokenProvider), c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddHttpClient(nameof(ConnectorClient), c => c.Timeout = TimeSpan.FromSeconds(30));
        services.AddHttpClient(nameof(GraphClient), c => c.Timeout = TimeSpan.FromSeconds(30));
        // Singletons, not typed clients: they hold the token cache and the per-conversation pacing.
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BotTokenProvider>(sp, Client(sp, nameof(BotTokenProvider))));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConnectorClient>(sp, Client(sp, nameof(ConnectorClient))));
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<GraphClient>(sp, Client(sp, nameof(GraphClient))));

        services.TryAddSingleton<FailureLimiter>();
        services.AddSingleton<TenantPolicy>();
        services.AddSingleton<BotSigningKeys>();
        services.AddSingleton<BotAuthenticator>();
        services.AddSingleton<ServiceUrlPolicy>();
        builder.AddTables(TeamsTables.Set);
        services.AddSingleton<TeamsStore>();
        services.AddSingleton<MeetingStore>();
        services.AddSingleton<MeetingBridge>();
        services.AddSingleton<IncidentCardSource>();
        services.AddSingleton<TeamsUserDirectory>();
        services.AddSingleton<IncidentDeclarer>();
        services.AddSingleton<TeamsDispatcher>();
        services.AddSingleton<ITeamsActivityHandler, MentionCommandHandler>();
        services.AddSingleton<ITeamsActivityHandler, IncidentCardActions>();
        services.AddSingleton<ITeamsActivityHandler, MessageCaptureHandler>();
        services.AddSingleton<ITeamsActivityHandler, PinHandler>();
        services.AddSingleton<ITeamsActivityHandler, MeetingEventHandler>();
        services.AddSingleton<ITeamsActivityHandler, ConversationUpdateHandler>();
        services.AddSingleton<ReplySender>();
        services.AddHostedService<TeamsStartupLog>();
        services.AddSingleton<WarRoomOpener>();
        services.AddSingleton<PrivateChatOpener>();
        builder.AddChatWarRoom<TeamsWarRoom>();
        services.AddSingleton<IMeetingBridges>(sp => sp.GetRequiredService<MeetingBridge>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncidentEventHandler, BridgeRequestHandler>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIncidentEventHandler, TranscriptImporter>());
        return builder;
    }

    private static HttpClient Client(IServiceProvider services, string name) =>
        services.GetRequiredService<IHttpClientFactory>().CreateClient(name);

    /// <summary><c>POST /api/messages</c>, the Bot Framework messaging endpoint.</summary>
    public static IEndpointRouteBuilder MapTeams(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The size limit is endpoint metadata, so Kestrel itself stops reading past it (routing sets the request's limit).
        app.MapPost(TeamsIds.MessagesPath, MessagesEndpoint.HandleAsync)
            .WithMetadata(new RequestSizeLimitAttribute(MessagesEndpoint.MaxBodyBytes))
            .DisableAntiforgery();
        return app;
    }

    private sealed partial class TeamsStartupLog(
        IOptions<TeamsOptions> options, IHostEnvironment environment, TenantPolicy tenants, ILogger<TeamsStartupLog> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            switch (options.Value.ModeIn(environment))
            {
                case TeamsMode.Off:
                    LogOff(logger);
                    return Task.CompletedTask;
                case TeamsMode.Local:
                    LogLocalMode(logger);
                    break;
                default:
                    LogConfigured(logger, options.Value.AppId);
                    break;
            }

            if (tenants.AcceptsAny)
            {
                LogEveryTenant(logger);
            }
            else
            {
                LogTenants(logger, tenants.Allowed);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(Level = LogLevel.Information, Message = "Teams: off (no Teams:AppId), POST /api/messages refuses every activity. Set Teams:AppId, Teams:AppPassword and Teams:TenantId for Teams; for the Agents Playground run in Development or set Teams:LocalMode=true")]
        private static partial void LogOff(ILogger logger);

        [LoggerMessage(Level = LogLevel.Warning, Message = "TEAMS LOCAL MODE: no Teams:AppId, so POST /api/messages accepts activities WITHOUT authentication from direct loopback callers (no proxy) and replies only to loopback hosts (Agents Playground). Set Teams:AppId, Teams:AppPassword and Teams:TenantId for real Teams.")]
        private static partial void LogLocalMode(ILogger logger);

        [LoggerMessage(Level = LogLevel.Information, Message = "Teams: Bot Framework authentication on for app {AppId}")]
        private static partial void LogConfigured(ILogger logger, string appId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: activities from every Microsoft 365 tenant are accepted (no Teams:TenantId or Teams:AllowedTenants, or *). Set Teams:TenantId to accept only your own")]
        private static partial void LogEveryTenant(ILogger logger);

        [LoggerMessage(Level = LogLevel.Information, Message = "Teams: activities accepted only from tenants {Tenants}")]
        private static partial void LogTenants(ILogger logger, IReadOnlyCollection<string> tenants);
    }
}
