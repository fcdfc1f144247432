using IncidentBot.Core.Incidents;

namespace IncidentBot.Paging.Inbound;

/// <summary>What happened to an alert, as far as the incident cares.</summary>
public enum PagerAlertChange
{
    /// <summary>Anything the bot does not act on (triggered, reassigned, a note, a priority change…).</summary>
    Other,
    Acknowledged,
    Resolved,
}

/// <summary>One webhook event from a pager, reduced to what the bot acts on.</summary>
/// <param name="Pager">PagerDuty or Opsgenie, as people know it.</param>
/// <param name="EventId">Unique per event and repeated on every delivery of it: the replay key.</param>
/// <param name="Type">The pager's own name for the event (<c>incident.acknowledged</c>, <c>Close</c>…), for logs.</param>
/// <param name="AlertKey">The alert's dedup key or alias; null for events about something other than an alert.</param>
/// <param name="By">Who acted, when the pager says.</param>
public sealed record PagerWebhookEvent(
    string Pager, string EventId, string Type, PagerAlertChange Change, string? AlertKey, Person? By, DateTimeOffset OccurredAt);

/// <summary>The body is not the webhook payload the pager documents.</summary>
public sealed class PagerPayloadException(string message) : Exception(message);
