namespace IncidentBot.Slack.WebApi;

/// <summary>Slack answered <c>{"ok":false}</c>; <see cref="Error"/> is Slack's error code (e.g. <c>name_taken</c>).</summary>
public sealed class SlackApiException(string method, string error)
    : Exception($"Slack {method} failed: {error}")
{
    public string Method { get; } = method;
    public string Error { get; } = error;
}

/// <summary>HTTP 429 (or <c>ratelimited</c>); retried after <see cref="RetryAfter"/>.</summary>
public sealed class SlackRateLimitedException(string method, TimeSpan retryAfter)
    : Exception($"Slack {method} is rate limited; retry after {retryAfter.TotalSeconds:0} s")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>A 5xx or an unreadable answer: worth retrying with backoff.</summary>
public sealed class SlackTransientException(string method, string reason)
    : Exception($"Slack {method} failed transiently: {reason}");
