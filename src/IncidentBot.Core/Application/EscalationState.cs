using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>One alert a pager was asked to open: where, for which level, under which key, and how it ended.</summary>
/// <param name="Level">The escalation level (0: a page of one person).</param>
/// <param name="Status">sending, sent or failed.</param>
public sealed record PageSent(string Target, int Level, string Key, string Status, DateTimeOffset At);

/// <summary>The level the escalation pages next, unless someone acknowledges first.</summary>
public sealed record NextLevel(int Level, IReadOnlyList<string> Targets, DateTimeOffset At);

/// <summary>What the incident card shows of the escalation, read from stored state (the page ledger and the timers).</summary>
/// <param name="Pages">The latest pages first, at most <see cref="EscalationState.MaxPages"/>.</param>
/// <param name="Acknowledged">Who acknowledged and where, from the timeline ("Acknowledged in PagerDuty by Ann"), when it is.</param>
public sealed record EscalationState(IReadOnlyList<PageSent> Pages, int TotalPages, string? Acknowledged, NextLevel? Next)
{
    public const int MaxPages = 5;

    public static EscalationState None { get; } = new([], 0, null, null);

    public bool IsEmpty => TotalPages == 0 && Next is null;
}

/// <summary>Reads an incident's escalation state for the cards; without a scheduler there is none.</summary>
public interface IEscalationStateReader
{
    Task<EscalationState> ReadAsync(Incident incident, CancellationToken cancellationToken);
}

internal sealed class NoEscalationState : IEscalationStateReader
{
    public Task<EscalationState> ReadAsync(Incident incident, CancellationToken cancellationToken) => Task.FromResult(EscalationState.None);
}
