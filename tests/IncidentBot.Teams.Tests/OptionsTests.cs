using System.Diagnostics;

namespace IncidentBot.Teams.Tests;

/// <summary>Bad Teams configuration stops the real host at start-up with one line naming the key.</summary>
public sealed class OptionsTests
{
    [Theory]
    [InlineData("Teams:AppPassword", "Teams__AppId", "6f1c1d1e-0000-4000-8000-000000000001", "Teams__TenantId", "contoso")]
    [InlineData("Teams:TenantId", "Teams__AppId", "6f1c1d1e-0000-4000-8000-000000000001", "Teams__AppPassword", "secret")]
    [InlineData("Teams:OpenIdMetadataUrl", "Teams__OpenIdMetadataUrl", "http://login.example.com/openid", "Teams__AppId", "")]
    [InlineData("Teams:TokenEndpoint", "Teams__TokenEndpoint", "not a url", "Teams__AppId", "")]
    [InlineData("Teams:IncidentsChannelId", "Teams__IncidentsChannelId", "general", "Teams__AppId", "")]
    [InlineData("Teams:LocalMode=true cannot be combined with Teams:AppId", "Teams__AppId", "6f1c1d1e-0000-4000-8000-000000000001", "Teams__LocalMode", "true")]
    [InlineData("Teams:AppPassword holds a placeholder", "Teams__AppId", "", "Teams__AppPassword", "<from environment>")]
    [InlineData("Teams:WarRoomTeamIds must list at least one team group id", "Teams__WarRoom", "channel", "Teams__AppId", "")]
    [InlineData("Teams:WarRoom=channel needs Graph credentials", "Teams__WarRoom", "channel", "Teams__WarRoomTeamIds__0", "2b1f0c4e-0000-4000-8000-00000000aa01")]
    [InlineData("Teams:ArchiveOnResolve=true needs Teams:WarRoom=channel", "Teams__ArchiveOnResolve", "true", "Teams__AppId", "")]
    [InlineData("Teams:MeetingOrganizerId must be a user's Entra object id", "Teams__MeetingOrganizerId", "ops@contoso.com", "Teams__AppId", "")]
    [InlineData("Teams:MeetingOrganizerId needs Graph credentials", "Teams__MeetingOrganizerId", "5f0c2d1e-0000-4000-8000-0000000000aa", "Teams__AppId", "")]
    [InlineData("Teams:TranscriptMaxEntries", "Teams__TranscriptMaxEntries", "0", "Teams__AppId", "")]
    [InlineData("Teams:GraphBaseUrl", "Teams__GraphBaseUrl", "http://graph.example.com/v1.0/", "Teams__AppId", "")]
    [InlineData("Teams:AppCatalogId must be the app's id in your app catalog", "Teams__AppCatalogId", "com.contoso.incidentbot", "Teams__AppId", "")]
    [InlineData("Teams:AppCatalogId needs Graph credentials", "Teams__AppCatalogId", "5f0c6e1a-0000-4000-8000-0000000ca7a1", "Teams__AppId", "")]
    [InlineData("Teams:PrivateChatFallbackMemberId must be a user's Entra object id", "Teams__PrivateChatFallbackMemberId", "lead@contoso.com", "Teams__AppId", "")]
    public async Task Start_InvalidTeamsSetting_ExitsNamingTheKey(string namedKey, string key1, string value1, string key2, string value2)
    {
        var workingDirectory = Directory.CreateTempSubdirectory("incidentbot-teams-options-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        foreach (var key in start.Environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment[key1] = value1;
        start.Environment[key2] = value2;
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            var error = await stderr;
            Assert.True(process.ExitCode == 2, $"exit {process.ExitCode}: {error} {await stdout}");
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.StartsWith("IncidentBot cannot start:", line, StringComparison.Ordinal);
            Assert.Contains(namedKey, line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(workingDirectory, recursive: true);
        }
    }

    private static string HostAssemblyPath()
    {
        // tests/IncidentBot.Teams.Tests/bin/<Configuration>/<tfm>/ → src/IncidentBot/bin/<Configuration>/<tfm>/IncidentBot.dll
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(CardTests.RepositoryRoot(), "src", "IncidentBot", "bin", testBin.Parent!.Name, testBin.Name, "IncidentBot.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build src/IncidentBot first.", path);
    }
}
