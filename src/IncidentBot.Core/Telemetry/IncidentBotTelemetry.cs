using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace IncidentBot.Core.Telemetry;

/// <summary>
/// The bot's own metrics and traces. Every project records through these instruments; the host exports
/// them (OTLP) when <c>Telemetry:OtlpEndpoint</c> is configured. Tag values are low-cardinality names.
/// </summary>
public static class IncidentBotTelemetry
{
    public const string Name = "IncidentBot";

    public static readonly ActivitySource Traces = new(Name);

    private static readonly Meter Meter = new(Name);

    /// <summary>Time from receiving a chat platform request to answering it (tags: platform, endpoint, status).</summary>
    public static readonly Histogram<double> AckDuration =
        Meter.CreateHistogram<double>("incidentbot.ack.duration", "ms", "Time to acknowledge a chat platform request");

    /// <summary>Calls to chat platforms and pagers (tags: platform, method, outcome: ok, error, rate_limited, failed).</summary>
    public static readonly Counter<long> OutboundCalls =
        Meter.CreateCounter<long>("incidentbot.outbound.calls", "{call}", "Outbound API calls by platform, method and outcome");

    /// <summary>How long after its due time a reminder was delivered.</summary>
    public static readonly Histogram<double> ReminderLateness =
        Meter.CreateHistogram<double>("incidentbot.reminder.lateness", "ms", "Delay between a reminder's due time and its delivery");

    /// <summary>Pages sent to a pager (tags: provider, outcome).</summary>
    public static readonly Counter<long> PagesSent =
        Meter.CreateCounter<long>("incidentbot.pages.sent", "{page}", "Pages sent to pagers by provider and outcome");

    /// <summary>
    /// Inbound requests refused before they could act: bad or missing credentials, a tenant or workspace that is
    /// not allowed, a body over the limit, too many failures (tags: endpoint, reason — both from fixed sets).
    /// </summary>
    public static readonly Counter<long> InboundRefused =
        Meter.CreateCounter<long>("incidentbot.inbound.refused", "{request}", "Inbound requests refused by endpoint and reason");

    /// <summary>
    /// Outbox deliveries given up for good (tags: handler; reason: error, timeout, or abandoned when its attempts ended
    /// without an outcome, killed or out of lease). Each also leaves a timeline entry and an error log line.
    /// </summary>
    public static readonly Counter<long> OutboxGaveUp =
        Meter.CreateCounter<long>("incidentbot.outbox.gave_up", "{delivery}", "Outbox deliveries given up by handler and reason");

    /// <summary>
    /// Commands refused by the incident permissions (tags: command, the verb; reason: outside_war_room, private,
    /// not_role_holder, not_member). Each also leaves a warning log line.
    /// </summary>
    public static readonly Counter<long> CommandsRefused =
        Meter.CreateCounter<long>("incidentbot.commands.refused", "{command}", "Chat commands refused by the incident permissions");

    /// <summary>
    /// Work run after a chat request was acknowledged: replies, response_url notes, postmortem posts (tags: work, a fixed
    /// name such as <c>teams.answer</c>; outcome: done, failed, timed_out, dropped when the queue was full, cancelled at shutdown).
    /// </summary>
    public static readonly Counter<long> AfterAcknowledgementWork =
        Meter.CreateCounter<long>("incidentbot.after_ack.work", "{item}", "Work run after a chat request was acknowledged, by work and outcome");

    /// <summary>Incidents declared (tag: severity).</summary>
    public static readonly Counter<long> IncidentsDeclared =
        Meter.CreateCounter<long>("incidentbot.incidents.declared", "{incident}", "Incidents declared by severity");

    /// <summary>
    /// Times work had to wait for a database connection (tags: pool — store, scheduler, or background for the store
    /// connections outbox deliveries and timers may hold at once; outcome — waited, or timed_out when it got none).
    /// </summary>
    public static readonly Counter<long> ConnectionWaits =
        Meter.CreateCounter<long>("incidentbot.db.connection.waits", "{wait}", "Waits for a database connection by pool and outcome");

    /// <summary>Writes committed together in one transaction by an instance's group commit (captures, notes, pins, edits).</summary>
    public static readonly Histogram<int> GroupCommitSize =
        Meter.CreateHistogram<int>("incidentbot.store.group_commit.size", "{write}", "Writes committed together in one transaction");

    /// <summary>Time from a batch's first statement to its commit (including reruns after a failed write).</summary>
    public static readonly Histogram<double> GroupCommitDuration =
        Meter.CreateHistogram<double>("incidentbot.store.group_commit.duration", "ms", "Time to run and commit one group commit");
}
