using IncidentBot.Core.Incidents;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IncidentBot.Paging;

public sealed record EscalationLevel(int Number, TimeSpan Delay, IReadOnlyList<string> Targets);

/// <summary>The configured chain: ordered levels, a repeat count, and which severities page on declare.</summary>
public sealed partial class EscalationPolicy
{
    public const string None = "none";

    public EscalationPolicy(IOptions<EscalationOptions> escalation, IOptions<PagingOptions> paging, ILogger<EscalationPolicy> logger)
    {
        var options = escalation.Value;
        _paging = paging.Value;
        var configured = Pagers.ConfiguredNames(paging.Value);

        // A level may name a pager this environment has no credential for (a dev machine, say): it is left out, loudly.
        var levels = new List<EscalationLevel>();
        for (var i = 0; i < options.Levels.Count; i++)
        {
            var named = options.Levels[i].Targets.Select(t => PageTarget.Parse(t).ToString()).Distinct().ToList();
            foreach (var missing in named.Where(t => !configured.Contains(PageTarget.Parse(t).Provider)))
            {
                LogUnconfiguredTarget(logger, i, missing);
            }

            if (named.Where(t => configured.Contains(PageTarget.Parse(t).Provider)).ToList() is { Count: > 0 } targets)
            {
                levels.Add(new EscalationLevel(levels.Count + 1, options.Levels[i].Delay, targets));
            }
        }

        Levels = options.Levels.Count > 0
            ? levels
            : configured.Count > 0 ? [new EscalationLevel(1, TimeSpan.Zero, configured)] : [];
        Repeat = options.Repeat;
        RepeatDelay = options.RepeatDelay;
        StopOnDowngrade = options.StopOnDowngrade;
        PageSeverities = options.PageSeverities.Count == 0
            ? [Severity.Sev1, Severity.Sev2]
            : options.PageSeverities.Select(s => SeverityText.TryParse(s, out var sev) ? sev : (Severity?)null).OfType<Severity>().ToHashSet();
    }

    private readonly PagingOptions _paging;

    public IReadOnlyList<EscalationLevel> Levels { get; }
    public int Repeat { get; }
    public TimeSpan RepeatDelay { get; }
    public bool StopOnDowngrade { get; }
    public IReadOnlySet<Severity> PageSeverities { get; }

    /// <summary>False when no pager is configured: escalation records that nobody could be paged.</summary>
    public bool CanPage => Levels.Count > 0;

    public EscalationLevel? Level(int number) => number >= 1 && number <= Levels.Count ? Levels[number - 1] : null;

    /// <summary>
    /// The step after (<paramref name="level"/>, <paramref name="loop"/>) and how long after this one it is paged, or null
    /// when the chain is exhausted.
    /// </summary>
    public (int Level, int Loop, TimeSpan After)? Next(int level, int loop) =>
        level < Levels.Count ? (level + 1, loop, Levels[level].Delay)
        : loop < Repeat ? (1, loop + 1, RepeatDelay)
        : null;

    /// <summary>
    /// Where <c>page @person</c> can reach that person: Opsgenie (or JSM) as a user responder when
    /// <c>Paging:Opsgenie:Users</c> maps their chat id to a username, and the signed webhook (its receiver gets the
    /// reason, which names them). What cannot reach them is said in plain words: PagerDuty's Events API routes to a
    /// service, never to a person.
    /// </summary>
    public (IReadOnlyList<string> Targets, IReadOnlyList<string> CannotPage) TargetsFor(Person person)
    {
        var targets = new List<string>();
        var cannot = new List<string>();
        if (_paging.Opsgenie.IsConfigured)
        {
            if (_paging.Opsgenie.Users.TryGetValue(person.UserId, out var username) && !string.IsNullOrWhiteSpace(username))
            {
                targets.Add(new PageTarget(Pagers.Opsgenie, ResponderType: "user", Responder: username.Trim()).ToString());
            }
            else
            {
                cannot.Add($"Opsgenie cannot page {person.DisplayName}: Paging:Opsgenie:Users has no Opsgenie username for chat user {person.UserId}");
            }
        }

        if (_paging.PagerDuty.IsConfigured)
        {
            cannot.Add($"PagerDuty cannot page {person.DisplayName}: its Events API pages a service, not a person");
        }

        if (_paging.Webhook.IsConfigured)
        {
            targets.Add(Pagers.Webhook);
        }

        return (targets, cannot);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Escalation:Levels:{Index} names {Pager}, which is not configured under Paging:; that target is left out")]
    private static partial void LogUnconfiguredTarget(ILogger logger, int index, string pager);
}
