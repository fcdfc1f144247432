using System.Net;
using IncidentBot.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace IncidentBot.Hosting;

/// <summary>The addresses the server actually bound, and whether all of them are reachable only from this machine.</summary>
public sealed class Listeners(IServer server)
{
    /// <summary>Bound addresses; empty for an in-memory server (tests), which nobody outside the process reaches.</summary>
    public IReadOnlyList<string> Addresses => server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    public bool AllLoopback => Addresses.All(IsLoopback);

    /// <summary>
    /// <c>localhost</c>, <c>127.0.0.0/8</c> and <c>[::1]</c> are loopback; wildcards (<c>+</c>, <c>*</c>,
    /// <c>0.0.0.0</c>, <c>[::]</c>), other addresses, host names and Unix sockets (a proxy's way in) are not.
    /// </summary>
    public static bool IsLoopback(string address)
    {
        var rest = address.Split("://", 2) is [_, var afterScheme] ? afterScheme : address;
        var authority = rest.Split('/', 2)[0];
        var host = authority.StartsWith('[') ? authority[..(authority.IndexOf(']', StringComparison.Ordinal) + 1)]
            : authority.LastIndexOf(':') is var colon and > 0 ? authority[..colon]
            : authority;
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
    }
}

/// <summary>
/// With no <c>Api:Tokens</c> the API and dashboard trust "this machine"; that is only true while the bot listens on
/// loopback alone, so once the server has bound its addresses any other listener stops start-up.
/// </summary>
internal sealed class ListenerGuard(Listeners listeners, IOptionsMonitor<ApiOptions> api) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var exposed = listeners.Addresses.Where(a => !Listeners.IsLoopback(a)).ToList();
        if (exposed.Count > 0 && !api.CurrentValue.Tokens.Any(t => !string.IsNullOrWhiteSpace(t)))
        {
            throw new StartupRefusedException(
                $"no Api:Tokens are configured, so the dashboard and API would trust every caller, but the bot listens on {string.Join(", ", exposed)}, which is not loopback. " +
                "Set Api:Tokens (generate one with: openssl rand -hex 32), or listen on loopback only (--urls http://127.0.0.1:8080).");
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A deployment mistake found while starting; reported as one line like a configuration error.</summary>
public sealed class StartupRefusedException(string message) : Exception(message);
