using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>Sends pages through the ledger (each at most once per key) and records every outcome in the timeline.</summary>
public sealed partial class PagingService(
    IEnumerable<IPager> pagers,
    PageLedger ledger,
    IncidentService incidents,
    IOptions<PagingOptions> options,
    ILogger<PagingService> logger)
{
    /// <summary>Long enough for every retry of one request; a claim older than this belonged to a sender that died.</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(10);

    private readonly Dictionary<string, IPager> _pagers = pagers
        .Where(p => Pagers.ConfiguredNames(options.Value).Contains(p.Name))
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public static long Generation(DateTimeOffset startedAt) => startedAt.UtcTicks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Pages every target of one escalation step.</summary>
    public Task PageAsync(Incident incident, EscalationStep step, CancellationToken cancellationToken) =>
        Task.WhenAll(step.Targets.Select(target => SendAsync(
            incident,
            new PageKey(incident.Id, "trigger", step.Level, step.Loop, Generation(step.StartedAt), target),
            PageAction.Trigger,
            step.Reason,
            step.StartedAt,
            cancellationToken)));

    /// <summary>Tells every pager that was paged for the incident that it was acknowledged (stops the pager's own escalation).</summary>
    public Task AcknowledgeAsync(Incident incident, DateTimeOffset at, CancellationToken cancellationToken) =>
        FollowUpAsync(incident, PageAction.Acknowledge, "acknowledge", at, cancellationToken);

    /// <summary>Resolves the page (PagerDuty resolve, Opsgenie close) on every pager that was paged.</summary>
    public Task ResolveAsync(Incident incident, DateTimeOffset at, CancellationToken cancellationToken) =>
        FollowUpAsync(incident, PageAction.Resolve, "resolve", at, cancellationToken);

    private async Task FollowUpAsync(Incident incident, PageAction action, string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var targets = await ledger.TriggeredTargetsAsync(incident.Id, cancellationToken);
        await Task.WhenAll(targets.Select(target => SendAsync(
            incident, new PageKey(incident.Id, name, 0, 0, Generation(at), target), action, name, at, cancellationToken)));
    }

    private async Task SendAsync(Incident incident, PageKey key, PageAction action, string reason, DateTimeOffset at, CancellationToken cancellationToken)
    {
        if (!_pagers.TryGetValue(key.Target, out var pager))
        {
            LogUnknownPager(logger, key.Target, incident.Number);
            return;
        }

        if (!await ledger.TryClaimAsync(key, ClaimLease, cancellationToken))
        {
            LogAlreadySent(logger, key.Action, key.Target, incident.Number, key.Level);
            return;
        }

        var message = new PageMessage(action, incident.Number, incident.Title, incident.Severity, key.Level, reason, Pagers.DedupKey(incident.Number), key.MessageId, at);
        try
        {
            await pager.SendAsync(message, cancellationToken);
            await ledger.CompleteAsync(key, PageLedger.Sent, null, cancellationToken);
            Count(key, "ok");
            LogSent(logger, key.Action, key.Target, incident.Number, key.Level);
            await incidents.RecordPagingAsync(incident.Number, action switch
            {
                PageAction.Trigger => $"{key.Target} accepted the page for level {key.Level} (dedup key {message.DedupKey})",
                PageAction.Acknowledge => $"{key.Target} page acknowledged",
                _ => $"{key.Target} page resolved",
            }, cancellationToken);
        }
        catch (PageFailedException failed)
        {
            await ledger.CompleteAsync(key, PageLedger.Failed, failed.Message, cancellationToken);
            Count(key, "failed");
            await incidents.RecordPagingAsync(incident.Number, $"Paging via {key.Target} failed ({key.Action}): {failed.Message}", cancellationToken);
        }
    }

    private static void Count(PageKey key, string outcome) =>
        IncidentBotTelemetry.PagesSent.Add(
            1,
            new KeyValuePair<string, object?>("provider", key.Target),
            new KeyValuePair<string, object?>("action", key.Action),
            new KeyValuePair<string, object?>("outcome", outcome));

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Action} to {Pager} for {Number} level {Level}")]
    private static partial void LogSent(ILogger logger, string action, string pager, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} to {Pager} for {Number} level {Level} was already sent; skipping")]
    private static partial void LogAlreadySent(ILogger logger, string action, string pager, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No pager named {Pager} is configured; {Number} was not paged there")]
    private static partial void LogUnknownPager(ILogger logger, string pager, IncidentNumber number);
}
