namespace IncidentBot.Core.Incidents;

/// <summary>
/// A person as a chat front-end knows them. <paramref name="Platform"/> and <paramref name="UserId"/>
/// are opaque to Core: the front-end that produced them is the only one that interprets them.
/// </summary>
public sealed record Person(string Platform, string UserId, string Name)
{
    /// <summary>What the timeline and API show: the display name, or the id when no name is known.</summary>
    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? UserId : Name;

    public bool IsSameAs(Person? other) =>
        other is not null && other.Platform == Platform && other.UserId == UserId;
}

/// <summary>A conversation on some chat platform (a channel, a thread, a chat, a meeting chat).</summary>
public sealed record ChatSpace(string Platform, string Channel);

/// <summary>Points at one chat message; unique per platform, conversation and message id.</summary>
public sealed record MessageRef(string Platform, string Channel, string MessageId)
{
    public ChatSpace Space => new(Platform, Channel);
}
