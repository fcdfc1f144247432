namespace IncidentBot.TestKit.Paging;

public enum FakeAlertStatus
{
    Triggered,
    Acknowledged,
    Resolved,
}

/// <summary>One alert as the fake provider keeps it: its status and its log (every event that reached it).</summary>
public sealed class FakeAlert(string scope, string key, IReadOnlyList<string> responders)
{
    /// <summary>Where the key is unique: the routing key (PagerDuty), the account (Opsgenie).</summary>
    public string Scope { get; } = scope;
    public string Key { get; } = key;
    public IReadOnlyList<string> Responders { get; } = responders;
    public FakeAlertStatus Status { get; set; } = FakeAlertStatus.Triggered;
    public List<string> Log { get; } = ["created"];
    public bool IsOpen => Status != FakeAlertStatus.Resolved;
}

/// <summary>Somebody was notified: an alert was opened (a trigger or create into an open alert notifies nobody).</summary>
/// <param name="Responders">Who the alert was routed to: the service's or integration's own routing ("default") or the named responders.</param>
public sealed record FakeNotification(string Scope, string Key, IReadOnlyList<string> Responders, DateTimeOffset At);

/// <summary>
/// How PagerDuty and Opsgenie deduplicate: an event whose key matches an open (triggered or acknowledged) alert is added
/// to that alert's log and notifies nobody; otherwise a new alert is opened, which notifies its responders.
/// Acknowledge and resolve act on the open alert with the key, and are dropped when there is none.
/// </summary>
public sealed class FakeAlertBook
{
    private readonly object _gate = new();
    private readonly List<FakeAlert> _alerts = [];
    private readonly List<FakeNotification> _notifications = [];

    public IReadOnlyList<FakeAlert> Alerts
    {
        get
        {
            lock (_gate)
            {
                return _alerts.ToList();
            }
        }
    }

    public IReadOnlyList<FakeNotification> Notifications
    {
        get
        {
            lock (_gate)
            {
                return _notifications.ToList();
            }
        }
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> people were notified (a request is recorded when it arrives, the
    /// alert when it is answered), and returns the notifications.
    /// </summary>
    public async Task<IReadOnlyList<FakeNotification>> WaitForNotifiedAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (Notifications.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        return Notifications;
    }

    /// <summary>Opens an alert, or folds the event into the open one with the same key; true when somebody was notified.</summary>
    public bool Trigger(string scope, string key, IReadOnlyList<string> responders, string note)
    {
        lock (_gate)
        {
            if (Open(scope, key) is { } open)
            {
                open.Log.Add($"deduplicated: {note}");
                return false;
            }

            _alerts.Add(new FakeAlert(scope, key, responders));
            _notifications.Add(new FakeNotification(scope, key, responders, DateTimeOffset.UtcNow));
            return true;
        }
    }

    /// <summary>Acknowledges or resolves the open alert with the key; false (dropped) when there is none.</summary>
    public bool Change(string scope, string key, FakeAlertStatus status)
    {
        lock (_gate)
        {
            if (Open(scope, key) is not { } open)
            {
                return false;
            }

            open.Status = status;
            open.Log.Add(status.ToString().ToLowerInvariant());
            return true;
        }
    }

    private FakeAlert? Open(string scope, string key) => _alerts.LastOrDefault(a => a.Scope == scope && a.Key == key && a.IsOpen);
}
