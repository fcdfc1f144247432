using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace IncidentBot.TestKit.Processes;

/// <summary>
/// The built host (src/IncidentBot) as a separate process, as a real instance runs: its own working directory,
/// configured only by the environment given to it, its output captured, killed with its process tree on dispose.
/// </summary>
public sealed partial class BotProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Action<string>? _onOutputLine;
    private readonly Action<string>? _onErrorLine;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();
    private readonly StringBuilder _standardError = new();
    private readonly List<string> _errorLines = [];
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BotProcess(Process process, Action<string>? onOutputLine, Action<string>? onErrorLine)
    {
        _process = process;
        _onOutputLine = onOutputLine;
        _onErrorLine = onErrorLine;
    }

    public string WorkingDirectory => _process.StartInfo.WorkingDirectory;

    /// <summary>The operating system's process id.</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput => Read(_standardOutput);

    public string StandardError => Read(_standardError);

    /// <summary>Standard output and standard error interleaved as they arrived.</summary>
    public string Output => Read(_output);

    /// <summary>The non-empty lines written to standard error.</summary>
    public IReadOnlyList<string> ErrorLines
    {
        get
        {
            lock (_errorLines)
            {
                return [.. _errorLines];
            }
        }
    }

    /// <summary>
    /// Starts <c>dotnet IncidentBot.dll</c> on a free loopback port in production mode. The test run's own
    /// configuration variables are not passed on, so <paramref name="environment"/> is all the bot is told;
    /// <paramref name="onOutputLine"/> and <paramref name="onErrorLine"/> see each line as it is written;
    /// <paramref name="urls"/> replaces the listening address (<c>--urls</c>).
    /// </summary>
    public static BotProcess Start(
        IReadOnlyDictionary<string, string?>? environment = null,
        Action<string>? onOutputLine = null,
        Action<string>? onErrorLine = null,
        string urls = "http://127.0.0.1:0")
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Directory.CreateTempSubdirectory("incidentbot-process-").FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(urls);
        foreach (var key in start.Environment.Keys.Where(IsConfigurationVariable).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var bot = new BotProcess(process, onOutputLine, onErrorLine);
        process.OutputDataReceived += (_, e) => bot.OnOutputLine(e.Data);
        process.ErrorDataReceived += (_, e) => bot.OnErrorLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bot;
    }

    /// <summary>The address Kestrel bound, once it says so.</summary>
    public async Task<Uri> WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var first = await Task.WhenAny(_listening.Task, _process.WaitForExitAsync(cancellationToken), Task.Delay(timeout, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
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

    /// <summary>Ends the process at once, as a crash would: no graceful shutdown, no scheduler check-out.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        var directory = WorkingDirectory;
        _process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the dying process; the temp directory is cleaned up by the OS eventually.
        }
    }

    private void OnOutputLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        Append(_standardOutput, line);
        OnLine(line);
        _onOutputLine?.Invoke(line);
    }

    private void OnErrorLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        Append(_standardError, line);
        if (!string.IsNullOrWhiteSpace(line))
        {
            lock (_errorLines)
            {
                _errorLines.Add(line);
            }
        }

        OnLine(line);
        _onErrorLine?.Invoke(line);
    }

    private void OnLine(string line)
    {
        Append(_output, line);
        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private static void Append(StringBuilder text, string line)
    {
        lock (text)
        {
            text.AppendLine(line);
        }
    }

    private static string Read(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    private static bool IsConfigurationVariable(string key) =>
        key.Contains("__", StringComparison.Ordinal)
        || key.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
        || key.Equals("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase);

    private static string HostAssemblyPath()
    {
        // <project>/bin/<Configuration>/<tfm>/ of the running test or benchmark → src/IncidentBot/bin/<Configuration>/<tfm>/IncidentBot.dll
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var root = bin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IncidentBot.sln")))
        {
            root = root.Parent;
        }

        var path = Path.Combine(root!.FullName, "src", "IncidentBot", "bin", bin.Parent!.Name, bin.Name, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/IncidentBot in the same configuration first.", path);
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
