using System.Text.Json;
using System.Text.Json.Serialization;

namespace IncidentBot.Paging;

/// <summary>PagerDuty Events API v2 event (https://developer.pagerduty.com/docs/events-api-v2).</summary>
internal sealed record PagerDutyEvent(
    [property: JsonPropertyName("routing_key")] string RoutingKey,
    [property: JsonPropertyName("event_action")] string EventAction,
    [property: JsonPropertyName("dedup_key")] string DedupKey,
    [property: JsonPropertyName("payload")] PagerDutyPayload? Payload,
    [property: JsonPropertyName("client")] string? Client);

internal sealed record PagerDutyPayload(
    [property: JsonPropertyName("summary")] string Summary,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("severity")] string Severity,
    [property: JsonPropertyName("timestamp")] DateTimeOffset Timestamp,
    [property: JsonPropertyName("component")] string Component,
    [property: JsonPropertyName("custom_details")] Dictionary<string, string> CustomDetails);

/// <summary>Opsgenie Alert API v2 create-alert request.</summary>
internal sealed record OpsgenieAlert(
    string Message,
    string Alias,
    string Description,
    string Priority,
    IReadOnlyList<string> Tags,
    Dictionary<string, string> Details,
    string Source,
    string Entity,
    IReadOnlyList<OpsgenieResponder>? Responders);

/// <summary>An alert responder: a team, escalation or schedule by name, a user by username.</summary>
internal sealed record OpsgenieResponder(string Type, string? Name, string? Username);

/// <summary>Opsgenie acknowledge/close request body.</summary>
internal sealed record OpsgenieAction(string Source, string Note);

/// <summary>What the generic webhook receives.</summary>
public sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, WebhookIncident Data);

public sealed record WebhookIncident(string Incident, string Title, string Severity, int Level, string Reason, string DedupKey);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PagerDutyEvent))]
[JsonSerializable(typeof(OpsgenieAlert))]
[JsonSerializable(typeof(OpsgenieAction))]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class PagingJsonContext : JsonSerializerContext;
