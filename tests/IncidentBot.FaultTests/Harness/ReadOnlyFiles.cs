using System.Diagnostics;

namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// Makes a SQLite database file unwritable: <c>chattr +i</c> when running as root (root ignores permission bits),
/// <c>chmod a-w</c> otherwise. Undone on dispose. Connections opened from then on are read-only; the -wal and -shm
/// files are left alone (a process with -shm mapped would be killed by SIGBUS, which is not this fault).
/// </summary>
public sealed class ReadOnlyFiles : IAsyncDisposable
{
    private readonly string[] _files;

    private ReadOnlyFiles(string[] files) => _files = files;

    public static ReadOnlyFiles Make(string databaseFile)
    {
        var files = new[] { databaseFile };
        foreach (var file in files)
        {
            Set(file, writable: false);
        }

        return new ReadOnlyFiles(files);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var file in _files)
        {
            Set(file, writable: true);
        }

        return ValueTask.CompletedTask;
    }

    private static void Set(string file, bool writable)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The fault tests run on Linux.");
        }

        if (Environment.UserName != "root")
        {
            File.SetUnixFileMode(file, writable ? File.GetUnixFileMode(file) | UnixFileMode.UserWrite : File.GetUnixFileMode(file) & ~(UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
            return;
        }

        using var chattr = Process.Start(new ProcessStartInfo("chattr", [writable ? "-i" : "+i", file]) { RedirectStandardError = true })!;
        chattr.WaitForExit();
        if (chattr.ExitCode != 0)
        {
            throw new InvalidOperationException($"chattr failed on {file}: {chattr.StandardError.ReadToEnd()}");
        }
    }
}
