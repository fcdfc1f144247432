using IncidentBot.Core.Incidents;

namespace IncidentBot.Core.Application;

/// <summary>Who asked for a change, and from which conversation (where replies and cards go).</summary>
public sealed record Actor(Person Person, ChatSpace? Origin = null);

/// <summary>The incident after a change, and the sentence that tells the user what happened.</summary>
public sealed record IncidentResult(Incident Incident, string Message);

public sealed record DeclareRequest(string Title, Severity Severity, string? Description = null)
{
    public Person? Commander { get; init; }

    /// <summary>People to bring into the war room besides the declarer.</summary>
    public IReadOnlyList<Person> Responders { get; init; } = [];

    /// <summary>Seen only inside its war rooms; its war room is private and nothing outside names its title.</summary>
    public bool IsPrivate { get; init; }

    /// <summary>A conversation to link as the war room right away (e.g. a meeting chat it was declared in).</summary>
    public ChatSpace? WarRoom { get; init; }
}

/// <summary>A chat message to record in the timeline of the incident whose war room it was posted in.</summary>
public sealed record CapturedMessage(MessageRef Source, Person Author, string Text, DateTimeOffset PostedAt);
