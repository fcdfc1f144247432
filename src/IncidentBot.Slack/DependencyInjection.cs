using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Permissions;
using IncidentBot.Core.Security;
using IncidentBot.Slack.Handlers;
using IncidentBot.Slack.Inbound;
using IncidentBot.Slack.Outbound;
using IncidentBot.Slack.SocketMode;
using IncidentBot.Slack.State;
using IncidentBot.Slack.WebApi;
using IncidentBot.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Slack;

public static class DependencyInjection
{
    public const string HttpClientName = "slack";

    /// <summary>
    /// The Slack front-end, bound to <c>Slack:*</c> and validated at start-up. Without <c>Slack:BotToken</c>
    /// it stays off: the endpoints answer 404, Socket Mode does not connect, incident events are ignored.
    /// </summary>
    public static IHostApplicationBuilder AddSlack(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SlackOptions>().BindConfiguration(SlackOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SlackOptions>, SlackOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            // The default logging writes whole URIs, capability URLs included.
            .RemoveAllLoggers()
            .AddLogger<SlackHttpLogger>();
        services.TryAddSingleton<SlackHttpLogger>();
        services.AddSingleton<ISlackApi>(sp => new SlackApiClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<IOptions<SlackOptions>>(),
            sp.GetRequiredService<SlackRetryPipeline>(),
            sp.GetRequiredService<ChannelPacer>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SlackApiClient>>()));
        services.AddSingleton<SlackRetryPipeline>();
        services.AddSingleton<ChannelPacer>();
        services.AddSingleton<SlackBotIdentity>();

        services.TryAddSingleton<FailureLimiter>();
        services.AddSingleton<SlackWorkspaces>();
        services.AddHostedService(sp => sp.GetRequiredService<SlackWorkspaces>());
        services.AddSingleton<SlackRequestVerifier>();
        builder.AddTables(SlackTables.Set);
        services.AddSingleton<SlackStateStore>();
        services.AddSingleton<SlackUserDirectory>();
        services.AddSingleton<SlackDispatcher>();
        services.AddSingleton<SlackHttpReceiver>();

        services.AddSingleton<ISlashCommandHandler, IncidentCommandHandler>();
        services.AddSingleton<ISlackEventHandler, WarRoomEventHandler>();
        services.AddSingleton<IBlockActionHandler, IncidentCardActions>();
        services.AddSingleton<IViewSubmissionHandler, DeclareViewHandler>();
        services.AddSingleton<IViewSubmissionHandler, UpdateViewHandler>();
        services.AddSingleton<IMessageShortcutHandler, AddToTimelineShortcut>();

        services.AddSingleton<WarRoomProvisioner>();
        services.AddSingleton<IWarRoomMembership, SlackWarRoomMembership>();
        services.AddSingleton<WarRoomBackfill>();
        services.AddSingleton<PostmortemPublisher>();
        builder.AddChatWarRoom<SlackWarRoom>();
        services.AddSingleton<SocketModeService>();
        services.AddHostedService(sp => sp.GetRequiredService<SocketModeService>());
        return builder;
    }

    /// <summary><c>POST /slack/commands</c>, <c>/slack/interactions</c>, <c>/slack/events</c>, <c>/slack/options</c>.</summary>
    public static IEndpointRouteBuilder MapSlack(this IEndpointRouteBuilder endpoints)
    {
        // The size limit is endpoint metadata, so Kestrel itself stops reading past it (routing sets the request's limit).
        var slack = endpoints.MapGroup("")
            .WithMetadata(new RequestSizeLimitAttribute(SlackHttpReceiver.MaxBodyBytes))
            .DisableAntiforgery();
        slack.MapPost(SlackIds.CommandsPath, (HttpContext context, SlackHttpReceiver receiver, CancellationToken ct) => receiver.CommandsAsync(context, ct));
        slack.MapPost(SlackIds.InteractionsPath, (HttpContext context, SlackHttpReceiver receiver, CancellationToken ct) => receiver.InteractionsAsync(context, ct));
        slack.MapPost(SlackIds.EventsPath, (HttpContext context, SlackHttpReceiver receiver, CancellationToken ct) => receiver.EventsAsync(context, ct));
        slack.MapPost(SlackIds.OptionsPath, (HttpContext context, SlackHttpReceiver receiver, CancellationToken ct) => receiver.OptionsAsync(context, ct));
        return endpoints;
    }
}
