using IncidentBot.Core.Incidents;
using IncidentBot.Core.Security;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

internal sealed class PagingOptionsValidator : IValidateOptions<PagingOptions>
{
    public ValidateOptionsResult Validate(string? name, PagingOptions options)
    {
        List<string?> secrets =
        [
            SecretRules.Check("Paging:PagerDuty:RoutingKey", options.PagerDuty.RoutingKey),
            .. options.PagerDuty.RoutingKeys.Where(k => !string.IsNullOrEmpty(k.Value)).Select(k => SecretRules.Check($"Paging:PagerDuty:RoutingKeys:{k.Key}", k.Value)),
            SecretRules.Check("Paging:Opsgenie:ApiKey", options.Opsgenie.ApiKey),
            SecretRules.Check("Paging:Webhook:Secret", options.Webhook.Secret),
            SecretRules.Check("Paging:PagerDuty:WebhookSecret", options.PagerDuty.WebhookSecret),
            SecretRules.Check("Paging:Opsgenie:WebhookToken", options.Opsgenie.WebhookToken, SecretRules.MinimumTokenLength),
        ];
        var failures = secrets.OfType<string>().ToList();
        if (options.PagerDuty.IsConfigured && !EndpointRules.IsAcceptable(options.PagerDuty.EventsUrl))
        {
            failures.Add("Paging:PagerDuty:EventsUrl must be an https:// URL (http:// only for loopback), e.g. https://events.pagerduty.com/v2/enqueue");
        }

        if (options.Opsgenie.IsConfigured && !EndpointRules.IsAcceptable(options.Opsgenie.ApiUrl))
        {
            failures.Add("Paging:Opsgenie:ApiUrl must be an https:// URL (http:// only for loopback), e.g. https://api.opsgenie.com or https://api.eu.opsgenie.com");
        }

        if (options.Webhook.IsConfigured)
        {
            if (!EndpointRules.IsAcceptable(options.Webhook.Url))
            {
                failures.Add("Paging:Webhook:Url must be an https:// URL (http:// only for loopback)");
            }

            if (!SecretRules.LooksLikePlaceholder(options.Webhook.Secret) && !WebhookSignature.TryDecodeSecret(options.Webhook.Secret, out _))
            {
                failures.Add("Paging:Webhook:Secret must be a Standard Webhooks secret: whsec_ followed by base64");
            }
        }

        if (options.PagerDuty.WebhookMaxAge <= TimeSpan.Zero)
        {
            failures.Add("Paging:PagerDuty:WebhookMaxAge must be a positive time span such as 2.00:00:00 (PagerDuty retries for up to 48 hours)");
        }

        if (options.MaxAttempts is < 1 or > 20)
        {
            failures.Add("Paging:MaxAttempts must be between 1 and 20");
        }

        if (options.RetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.RetryDelay)
        {
            failures.Add("Paging:RetryDelay must be positive and not above Paging:MaxRetryDelay");
        }

        if (options.ClaimLease < TimeSpan.FromSeconds(1) || options.ClaimLease > TimeSpan.FromMinutes(10))
        {
            failures.Add("Paging:ClaimLease must be between 00:00:01 and 00:10:00, such as 00:00:30");
        }

        if (options.SweepInterval < TimeSpan.FromSeconds(1) || options.SweepInterval > TimeSpan.FromHours(1))
        {
            failures.Add("Paging:SweepInterval must be between 00:00:01 and 01:00:00, such as 00:00:15");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

internal sealed class EscalationOptionsValidator(IOptions<PagingOptions> paging) : IValidateOptions<EscalationOptions>
{
    public ValidateOptionsResult Validate(string? name, EscalationOptions options)
    {
        var failures = new List<string>();
        foreach (var (value, index) in options.PageSeverities.Select((v, i) => (v, i)))
        {
            if (!SeverityText.TryParse(value, out _) && !string.Equals(value, EscalationPolicy.None, StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"Escalation:PageSeverities:{index} must be SEV1 to SEV4, or none (was '{value}')");
            }
        }

        for (var i = 0; i < options.Levels.Count; i++)
        {
            var level = options.Levels[i];
            if (level.Delay < TimeSpan.Zero)
            {
                failures.Add($"Escalation:Levels:{i}:Delay must be zero or a positive time span such as 00:10:00");
            }

            if (level.Targets.Count == 0)
            {
                failures.Add($"Escalation:Levels:{i}:Targets must name at least one pager (pagerduty, opsgenie, webhook)");
            }

            foreach (var (text, t) in level.Targets.Select((v, j) => (v, j)))
            {
                if (!PageTarget.TryParse(text, out var target, out var problem))
                {
                    failures.Add($"Escalation:Levels:{i}:Targets:{t}: {problem}");
                }
                else if (target.Service is { } service && paging.Value.PagerDuty.IsConfigured && paging.Value.PagerDuty.RoutingKeyFor(service) is null)
                {
                    failures.Add($"Escalation:Levels:{i}:Targets:{t} names the PagerDuty service '{service}', but Paging:PagerDuty:RoutingKeys:{service} is not set");
                }
                else if (target is { Provider: Pagers.PagerDuty, Service: null } && paging.Value.PagerDuty.IsConfigured && paging.Value.PagerDuty.RoutingKeyFor(null) is null)
                {
                    failures.Add($"Escalation:Levels:{i}:Targets:{t} is plain pagerduty, but Paging:PagerDuty:RoutingKey is not set (name a service: pagerduty:<service>)");
                }
            }
        }

        if (options.Repeat is < 0 or > 9)
        {
            failures.Add("Escalation:Repeat must be between 0 and 9");
        }

        if (options.RepeatDelay <= TimeSpan.Zero)
        {
            failures.Add("Escalation:RepeatDelay must be a positive time span such as 00:05:00");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
