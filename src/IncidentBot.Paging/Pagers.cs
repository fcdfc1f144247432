using IncidentBot.Core.Incidents;

namespace IncidentBot.Paging;

public enum PageAction
{
    Trigger,
    Acknowledge,
    Resolve,
}

/// <summary>
/// One page to one pager. <see cref="DedupKey"/> names the alert (one per escalation step that pages, see
/// <see cref="Pagers.DedupKey"/>); <see cref="MessageId"/> is stable per ledger row.
/// </summary>
public sealed record PageMessage(
    PageAction Action,
    PageTarget Target,
    IncidentNumber Number,
    string Title,
    Severity Severity,
    int Level,
    string Reason,
    string DedupKey,
    string MessageId,
    DateTimeOffset OccurredAt);

/// <summary>An outside paging service. <see cref="SendAsync"/> returns once the service accepted the page, or throws <see cref="PageFailedException"/>.</summary>
public interface IPager
{
    /// <summary>The name used in <c>Escalation:Levels:N:Targets</c>.</summary>
    string Name { get; }

    Task SendAsync(PageMessage message, CancellationToken cancellationToken);
}

/// <summary>The pager refused the page or stayed unreachable after every retry; the message is fit for the timeline.</summary>
public sealed class PageFailedException(string message, Exception? inner = null) : Exception(message, inner);

public static class Pagers
{
    public const string PagerDuty = "pagerduty";
    public const string Opsgenie = "opsgenie";
    public const string Webhook = "webhook";

    public static IReadOnlyList<string> All { get; } = [PagerDuty, Opsgenie, Webhook];

    /// <summary>
    /// The key of the incident's <paramref name="sequence"/>-th alert: <c>incidentbot-INC-42</c> for the first,
    /// <c>incidentbot-INC-42-2</c>, <c>-3</c>, … for later ones. PagerDuty and Opsgenie fold a trigger with the key of an
    /// open alert into that alert and notify nobody, so every escalation step that must reach a person has its own.
    /// </summary>
    public static string DedupKey(IncidentNumber number, int sequence = 1) =>
        sequence <= 1 ? $"incidentbot-{number}" : $"incidentbot-{number}-{sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>The place of a key made by <see cref="DedupKey"/> in its incident's sequence (1 for a key without a suffix).</summary>
    public static int Sequence(string? dedupKey) =>
        dedupKey?.Split('-') is [_, _, _, var suffix]
        && int.TryParse(suffix, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : 1;

    public static IReadOnlyList<string> ConfiguredNames(PagingOptions options)
    {
        var names = new List<string>();
        if (options.PagerDuty.IsConfigured)
        {
            names.Add(PagerDuty);
        }

        if (options.Opsgenie.IsConfigured)
        {
            names.Add(Opsgenie);
        }

        if (options.Webhook.IsConfigured)
        {
            names.Add(Webhook);
        }

        return names;
    }
}
