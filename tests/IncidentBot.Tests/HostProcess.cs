using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace IncidentBot.Tests;

/// <summary>The built host as a real process, in a working directory of its own, with a chosen environment.</summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HostProcess(Process process) => _process = process;

    public string WorkingDirectory { get; private init; } = "";

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public static HostProcess Start(IReadOnlyDictionary<string, string?>? environment = null)
    {
        var workingDirectory = Directory.CreateTempSubdirectory("incidentbot-host-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");

        // Nothing from the test run's own environment may configure the bot: this is the zero-config start.
        foreach (var key in start.Environment.Keys.Where(IsBotSetting).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var host = new HostProcess(process) { WorkingDirectory = workingDirectory };
        process.OutputDataReceived += (_, e) => host.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (host._stderr)
            {
                host._stderr.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>The address Kestrel bound, once it says so.</summary>
    public async Task<Uri> WaitUntilListeningAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited, Task.Delay(timeout));
        return first == _listening.Task
            ? await _listening.Task
            : throw new InvalidOperationException($"The host did not start listening.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(WorkingDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the dying process; the temp directory is cleaned up by the OS eventually.
        }
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdout)
        {
            _stdout.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static bool IsBotSetting(string key) =>
        new[] { "Database__", "ConnectionStrings__", "Api__", "Reminders__", "Scheduler__", "Slack__", "Teams__", "Paging__", "Escalation__", "ASPNETCORE_", "DOTNET_ENVIRONMENT" }
            .Any(prefix => key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase));

    private static string HostAssemblyPath()
    {
        // tests/IncidentBot.Tests/bin/<Configuration>/<tfm>/ → src/IncidentBot/bin/<Configuration>/<tfm>/IncidentBot.dll
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IncidentBot.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root!.FullName, "src", "IncidentBot", "bin", configuration, tfm, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the host first.", path);
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
