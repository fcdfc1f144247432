namespace IncidentBot.Paging;

/// <summary>
/// Where one level pages, as written in <c>Escalation:Levels:N:Targets</c>: a provider, optionally narrowed.
/// <c>pagerduty</c> (the <c>Paging:PagerDuty:RoutingKey</c> service), <c>pagerduty:payments</c> (the service whose
/// integration key is <c>Paging:PagerDuty:RoutingKeys:payments</c>), <c>opsgenie</c> (the API integration's own
/// routing), <c>opsgenie:team:Payments</c>, <c>opsgenie:user:ann@example.com</c>, <c>opsgenie:escalation:Name</c>,
/// <c>opsgenie:schedule:Name</c> (responders; also for Jira Service Management, whose integration API the Opsgenie
/// pager speaks), and <c>webhook</c>.
/// </summary>
public sealed record PageTarget(string Provider, string? Service = null, string? ResponderType = null, string? Responder = null)
{
    public static readonly IReadOnlyList<string> ResponderTypes = ["team", "user", "escalation", "schedule"];

    /// <summary>The text form stored in the page ledger (and shown in the timeline); parses back to the same target.</summary>
    public override string ToString() =>
        Service is not null ? $"{Provider}:{Service}"
        : ResponderType is not null ? $"{Provider}:{ResponderType}:{Responder}"
        : Provider;

        public static PageTarget Parse(string text) =>
        TryParse(text, out var target, out var problem) ? target : throw new FormatException(problem);

    public static bool TryParse(string? text, out PageTarget target, out string problem)
    {
        target = new PageTarget("");
        problem = "";
        var parts = (text ?? "").Trim().Split(':', 3);
        var provider = parts[0].ToLowerInvariant();
        switch (provider)
        {
            case Pagers.PagerDuty when parts.Length == 1:
            case Pagers.Opsgenie when parts.Length == 1:
            case Pagers.Webhook when parts.Length == 1:
                target = new PageTarget(provider);
                return true;
            case Pagers.PagerDuty when parts.Length == 2 && parts[1].Length > 0:
                target = new PageTarget(provider, Service: parts[1]);
                return true;
            case Pagers.Opsgenie when parts.Length == 3 && ResponderTypes.Contains(parts[1].ToLowerInvariant()) && parts[2].Trim().Length > 0:
                target = new PageTarget(provider, ResponderType: parts[1].ToLowerInvariant(), Responder: parts[2].Trim());
                return true;
            default:
                problem = $"'{text}' is not a target: use pagerduty, pagerduty:<service>, opsgenie, opsgenie:team|user|escalation|schedule:<name> or webhook";
                return false;
        }
    }
}
