using IncidentBot.Core.Incidents;

namespace IncidentBot.Paging;

public enum PageAction
{
    Trigger,
    Acknowledge,
    Resolve,
}

/// <summary>One page to one pager. <see cref="DedupKey"/> is stable per incident; <see cref="MessageId"/> per ledger row.</summary>
public sealed record PageMessage(
    PageAction Action,
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

    /// <summary>Stable per incident, so the pager folds every page of one incident into one alert.</summary>
    public static string DedupKey(IncidentNumber number) => $"incidentbot-{number}";

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
