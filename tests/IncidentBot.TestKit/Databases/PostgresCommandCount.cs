using System.Diagnostics;

namespace IncidentBot.TestKit.Databases;

/// <summary>
/// Counts the commands (round trips) Npgsql sends for the code awaited inside this scope, through Npgsql's own
/// tracing: only commands of this scope's trace are counted, so tests running alongside do not disturb the count.
/// </summary>
public sealed class PostgresCommandCount : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly Activity _scope;
    private readonly List<string> _commands = [];
    private readonly List<string> _texts = [];

    private readonly string? _database;

    /// <summary>
    /// Counts the commands this async flow sends, and with <paramref name="database"/> also every other command sent to that
    /// database meanwhile (the group-commit writer runs on its own flow).
    /// </summary>
    public PostgresCommandCount(string? database = null)
    {
        _database = database;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Stopped,
        };
        ActivitySource.AddActivityListener(_listener);
        _scope = new Activity("IncidentBot.TestKit.CommandCount").SetIdFormat(ActivityIdFormat.W3C).Start();
    }

    /// <summary>The statements of the commands sent so far (each command's text split at its semicolons).</summary>
    public int Statements
    {
        get
        {
            lock (_commands)
            {
                return _texts.Sum(text => text.Split(';').Count(part => !string.IsNullOrWhiteSpace(part)));
            }
        }
    }

    /// <summary>The commands sent so far, each by its text's first line.</summary>
    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    private void Stopped(Activity activity)
    {
        var ours = activity.TraceId == _scope.TraceId ||
            _database is not null && (activity.GetTagItem("db.namespace") ?? activity.GetTagItem("db.name")) as string == _database;
        if (activity.Source.Name != "Npgsql" || !ours)
        {
            return;
        }

        var text = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
        lock (_commands)
        {
            _commands.Add(text.Trim().Split('\n')[0]);
            _texts.Add(text);
        }
    }

    public void Dispose()
    {
        _scope.Dispose();
        _listener.Dispose();
    }
}
