using System.Diagnostics;

namespace IncidentBot.FaultTests.Harness;

/// <summary>
/// Makes a SQLite database (and its -wal and -shm files) unwritable, even for a process that has them open:
/// <c>chattr +i</c> when running as root (root ignores permission bits), <c>chmod a-w</c> otherwise. Undone on dispose.
/// </summary>
public sealed class ReadOnlyFiles : IAsyncDisposable
{
    private readonly string[] _files;

    private ReadOnlyFiles(string[] files) => _files = files;

    public static ReadOnlyFiles Make(string databaseFile)
    {
        var files = new[] { databaseFile, databaseFile + "-wal", databaseFile + "-shm" }.Where(File.Exists).ToArray();
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
