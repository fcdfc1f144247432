using System.Net;

namespace IncidentBot.Core.Security;

/// <summary>
/// Whether a request came straight from this machine: a loopback peer that carries no sign of having passed
/// through a proxy. A proxy on the same host also connects from loopback, so any forwarding header, whoever set
/// it, makes the caller "not direct".
/// </summary>
public static class DirectCaller
{
    /// <summary>Headers that proxies (and ASP.NET Core's forwarded-headers middleware, for the X-Original-* ones) add.</summary>
    public static readonly IReadOnlyList<string> ForwardingHeaders =
    [
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP", "X-Original-For", "X-Original-Host", "X-Original-Proto",
    ];

    /// <param name="remote">The connection's peer address.</param>
    /// <param name="hasHeader">Whether the request carries a header of that name.</param>
    public static bool IsDirectLoopback(IPAddress? remote, Func<string, bool> hasHeader)
    {
        ArgumentNullException.ThrowIfNull(hasHeader);
        return remote is not null && IPAddress.IsLoopback(remote) && !ForwardingHeaders.Any(hasHeader);
    }
}
