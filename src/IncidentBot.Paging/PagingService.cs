using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

/// <summary>
/// Sends pages through the ledger (each at most once per key while its claim holds) and records every outcome in the
/// timeline. A page ends <see cref="PageLedger.Sent"/>, or <see cref="PageLedger.Failed"/> with a timeline entry, an
/// error log line and the <c>incidentbot.pages</c> metric; one whose sender died is finished by <see cref="PageSweeper"/>.
/// </summary>
public sealed partial class PagingService(
    IEnumerable<IPager> pagers,
    PageLedger ledger,
    IncidentService incidents,
    PageSweeperSignal sweeper,
    IOptions<PagingOptions> options,
    TimeProvider time,
    ILogger<PagingService> logger)
{
    /// <summary>After this many senders took a page over and none finished, it is given up as failed.</summary>
    public const int MaxClaims = 5;

    private readonly Dictionary<string, IPager> _pagers = pagers
        .Where(p => Pagers.ConfiguredNames(options.Value).Contains(p.Name))
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a claim (on a page or an escalation step) lasts unless its holder renews it.</summary>
    public TimeSpan ClaimLease => options.Value.ClaimLease;

    public static long Generation(DateTimeOffset startedAt) => startedAt.UtcTicks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Pages every target of one escalation step, all under the step's alert key (<see cref="PageLedger.AssignKeyAsync"/>).</summary>
    public Task PageAsync(Incident incident, EscalationStep step, string dedupKey, CancellationToken cancellationToken) =>
        Task.WhenAll(step.Targets.Select(target => SendAsync(
            incident,
            new PageKey(incident.Id, "trigger", step.Level, step.Loop, Generation(step.StartedAt), target),
            PageAction.Trigger,
            step.Reason,
            dedupKey,
            cancellationToken)));

    /// <summary>Tells every pager that was paged for the incident that it was acknowledged (stops the pager's own escalation).</summary>
    public Task AcknowledgeAsync(Incident incident, DateTimeOffset at, CancellationToken cancellationToken) =>
        FollowUpAsync(incident, PageAction.Acknowledge, "acknowledge", at, cancellationToken);

    /// <summary>Resolves the page (PagerDuty resolve, Opsgenie close) on every pager that was paged.</summary>
    public Task ResolveAsync(Incident incident, DateTimeOffset at, CancellationToken cancellationToken) =>
        FollowUpAsync(incident, PageAction.Resolve, "resolve", at, cancellationToken);

    /// <summary>
    /// One follow-up per alert the incident may have open: every key at every target that took a trigger. Its ledger
    /// row's level is the alert's place in the key sequence, so each alert is followed up once.
    /// </summary>
    private async Task FollowUpAsync(Incident incident, PageAction action, string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var alerts = await ledger.TriggeredAlertsAsync(incident.Id, cancellationToken);
        await Task.WhenAll(alerts.Select(alert => SendAsync(
            incident,
            new PageKey(incident.Id, name, Pagers.Sequence(alert.DedupKey), 0, Generation(at), alert.Target),
            action,
            name,
            alert.DedupKey ?? Pagers.DedupKey(incident.Number),
            cancellationToken)));
    }

    private IPager? PagerFor(string target) =>
        PageTarget.TryParse(target, out var parsed, out _) && _pagers.TryGetValue(parsed.Provider, out var pager) ? pager : null;

    private async Task SendAsync(Incident incident, PageKey key, PageAction action, string reason, string dedupKey, CancellationToken cancellationToken)
    {
        if (PagerFor(key.Target) is not { } pager)
        {
            LogUnknownPager(logger, key.Target, incident.Number);
            return;
        }

        if (await ledger.TryClaimAsync(key, reason, dedupKey, ClaimLease, cancellationToken) is not { } claim)
        {
            var row = await ledger.GetAsync(key, cancellationToken);
            if (row?.Status == PageLedger.Sending)
            {
                // Someone else is sending it. Should they die, the sweeper sends it when their claim runs out.
                LogHeldElsewhere(logger, key.Action, key.Target, incident.Number, key.Level, row.ClaimedUntil);
                sweeper.Wake();
            }
            else
            {
                LogAlreadyDone(logger, key.Action, key.Target, incident.Number, key.Level, row?.Status ?? "unknown");
            }

            return;
        }

        await SendClaimedAsync(incident, key, action, reason, dedupKey, claim, pager, cancellationToken);
    }

    /// <summary>
    /// Finishes a page whose sender died (its claim ran out while <see cref="PageLedger.Sending"/>): sent again under the
    /// same keys, unless the escalation it belonged to has stopped meanwhile.
    /// </summary>
    public async Task ResumeAsync(PageLedgerRow page, CancellationToken cancellationToken)
    {
        var key = page.Key;
        var incident = await incidents.GetAsync(new IncidentNumber(page.Number), cancellationToken);
        if (await ledger.TryClaimAsync(key, null, null, ClaimLease, cancellationToken) is not { } claim)
        {
            return;
        }

        LogResuming(logger, key.Action, key.Target, incident.Number, key.Level, claim);
        if (claim > MaxClaims)
        {
            await FailAsync(incident, key, claim, $"{claim - 1} senders took the page and none finished it", cancellationToken);
            return;
        }

        if (PagerFor(key.Target) is not { } pager)
        {
            await FailAsync(incident, key, claim, $"{key.Target} is no longer configured", cancellationToken);
            return;
        }

        var action = key.Action switch
        {
            "trigger" => PageAction.Trigger,
            "acknowledge" => PageAction.Acknowledge,
            _ => PageAction.Resolve,
        };
        var reason = page.Reason ?? key.Action;
        if (action == PageAction.Trigger
            && IncidentService.Decide(incident, new EscalationStep(key.Level, key.Loop, [key.Target], reason, key.GenerationTime)) == EscalationOutcome.Stopped)
        {
            if (await ledger.CompleteAsync(key, PageLedger.Stopped, "the escalation stopped before the page could be sent again", claim, cancellationToken))
            {
                Count(key, "stopped");
                LogStopped(logger, key.Target, incident.Number, key.Level);
                await incidents.RecordPagingAsync(incident.Number, $"The {key.Target} page for level {key.Level} was not sent again: the escalation had stopped", cancellationToken);
            }

            return;
        }

        await SendClaimedAsync(incident, key, action, reason, page.DedupKey ?? Pagers.DedupKey(incident.Number), claim, pager, cancellationToken);
    }

    private async Task SendClaimedAsync(
        Incident incident, PageKey key, PageAction action, string reason, string dedupKey, int claim, IPager pager, CancellationToken cancellationToken)
    {
        var message = new PageMessage(action, PageTarget.Parse(key.Target), incident.Number, incident.Title, incident.Severity, key.Level, reason, dedupKey, key.MessageId, key.GenerationTime);
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var stopRenewing = new CancellationTokenSource();
        var renewing = RenewWhileSendingAsync(key, claim, held, stopRenewing.Token);
        try
        {
            await pager.SendAsync(message, held.Token);
        }
        catch (PageFailedException failed)
        {
            await StopAsync(stopRenewing, renewing);
            await FailAsync(incident, key, claim, failed.Message, cancellationToken);
            return;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The claim was lost (it could not be renewed in time and was taken over): its new holder sends the page.
            await StopAsync(stopRenewing, renewing);
            LogClaimLost(logger, key.Action, key.Target, incident.Number, key.Level);
            return;
        }
        catch
        {
            // Shutting down, say: the claim runs out unrenewed and the sweeper sends the page again.
            await StopAsync(stopRenewing, renewing);
            throw;
        }

        await StopAsync(stopRenewing, renewing);
        if (await ledger.CompleteAsync(key, PageLedger.Sent, null, claim, cancellationToken))
        {
            Count(key, "ok");
            LogSent(logger, key.Action, key.Target, incident.Number, key.Level);
            await incidents.RecordPagingAsync(incident.Number, action switch
            {
                PageAction.Trigger => $"{key.Target} accepted the page for level {key.Level} (dedup key {dedupKey})",
                PageAction.Acknowledge => $"{key.Target} page acknowledged ({dedupKey})",
                _ => $"{key.Target} page resolved ({dedupKey})",
            }, cancellationToken);
        }
    }

    private async Task FailAsync(Incident incident, PageKey key, int claim, string problem, CancellationToken cancellationToken)
    {
        if (await ledger.CompleteAsync(key, PageLedger.Failed, problem, claim, cancellationToken))
        {
            Count(key, "failed");
            LogFailed(logger, key.Action, key.Target, incident.Number, key.Level, problem);
            await incidents.RecordPagingAsync(incident.Number, $"Paging via {key.Target} failed ({key.Action}): {problem}", cancellationToken);
        }
    }

    /// <summary>Keeps the claim alive while the pager call runs; cancels the call if the claim is lost.</summary>
    private async Task RenewWhileSendingAsync(PageKey key, int claim, CancellationTokenSource held, CancellationToken stop)
    {
        // A periodic timer on the clock the lease is measured by: renewals keep their cadence however long each write
        // takes (a delay armed after each write would drift by the write's time, and a slow database could let the
        // claim run out between renewals).
        using var every = new PeriodicTimer(ClaimLease / 3, time);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await every.WaitForNextTickAsync(stop);
                if (!await ledger.RenewAsync(key, claim, ClaimLease, stop))
                {
                    await held.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database is away: keep sending, and renew again at the next turn; a claim that runs out meanwhile
                // may be sent a second time, which the pager dedupes.
                LogRenewFailed(logger, ex, key.Action, key.Target, key.Level);
            }
        }
    }

    private static async Task StopAsync(CancellationTokenSource stop, Task renewing)
    {
        await stop.CancelAsync();
        await renewing;
    }

    private static void Count(PageKey key, string outcome) =>
        IncidentBotTelemetry.PagesSent.Add(
            1,
            new KeyValuePair<string, object?>("provider", PageTarget.TryParse(key.Target, out var target, out _) ? target.Provider : "unknown"),
            new KeyValuePair<string, object?>("action", key.Action),
            new KeyValuePair<string, object?>("outcome", outcome));

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent {Action} to {Pager} for {Number} level {Level}")]
    private static partial void LogSent(ILogger logger, string action, string pager, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Error, Message = "Paging {Pager} ({Action}) for {Number} level {Level} failed: {Problem}")]
    private static partial void LogFailed(ILogger logger, string action, string pager, IncidentNumber number, int level, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} to {Pager} for {Number} level {Level} is already {Status}; not sent again")]
    private static partial void LogAlreadyDone(ILogger logger, string action, string pager, IncidentNumber number, int level, string status);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Action} to {Pager} for {Number} level {Level} is being sent by another sender (claim until {Until:O}); sent again then if it is not sent by then")]
    private static partial void LogHeldElsewhere(ILogger logger, string action, string pager, IncidentNumber number, int level, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending {Action} to {Pager} for {Number} level {Level} again: its sender stopped without finishing (claim {Claim})")]
    private static partial void LogResuming(ILogger logger, string action, string pager, IncidentNumber number, int level, int claim);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the claim on {Action} to {Pager} for {Number} level {Level}; its new holder sends it")]
    private static partial void LogClaimLost(ILogger logger, string action, string pager, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Information, Message = "The {Pager} page for {Number} level {Level} was not sent again: the escalation had stopped")]
    private static partial void LogStopped(ILogger logger, string pager, IncidentNumber number, int level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the claim on {Action} to {Pager} level {Level}; trying again")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string action, string pager, int level);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No pager named {Pager} is configured; {Number} was not paged there")]
    private static partial void LogUnknownPager(ILogger logger, string pager, IncidentNumber number);
}
