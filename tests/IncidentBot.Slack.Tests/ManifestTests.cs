using System.Text.Json;
using System.Text.RegularExpressions;

namespace IncidentBot.Slack.Tests;

/// <summary>manifests/slack must ask for exactly what the code uses: command, shortcut, scopes, events, URLs.</summary>
public sealed partial class ManifestTests
{
    public static TheoryData<string> Manifests => new() { "manifest.http.json", "manifest.socket-mode.json" };

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_CommandAndShortcut_MatchCode(string file)
    {
        using var manifest = Load(file);
        var features = manifest.RootElement.GetProperty("features");

        var command = Assert.Single(features.GetProperty("slash_commands").EnumerateArray());
        Assert.Equal(SlackIds.Command, command.GetProperty("command").GetString());
        Assert.True(command.GetProperty("should_escape").GetBoolean(), "mentions must arrive as <@U…> tokens");
        var shortcut = Assert.Single(features.GetProperty("shortcuts").EnumerateArray());
        Assert.Equal("message", shortcut.GetProperty("type").GetString());
        Assert.Equal(SlackIds.AddToTimelineShortcut, shortcut.GetProperty("callback_id").GetString());
        Assert.True(shortcut.GetProperty("name").GetString()!.Length <= 24);
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_ScopesAndEvents_ExactlyWhatCodeUses(string file)
    {
        using var manifest = Load(file);
        var root = manifest.RootElement;

        var scopes = root.GetProperty("oauth_config").GetProperty("scopes").GetProperty("bot").EnumerateArray().Select(s => s.GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(SlackIds.BotScopes.Keys.Order(StringComparer.Ordinal), scopes);
        var events = root.GetProperty("settings").GetProperty("event_subscriptions").GetProperty("bot_events").EnumerateArray().Select(s => s.GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(SlackIds.BotEvents.Order(StringComparer.Ordinal), events);
        Assert.True(root.GetProperty("settings").GetProperty("interactivity").GetProperty("is_enabled").GetBoolean());
    }

    [Fact]
    public void HttpManifest_RequestUrls_PlaceholdersOnOurEndpoints()
    {
        using var manifest = Load("manifest.http.json");
        var root = manifest.RootElement;
        var settings = root.GetProperty("settings");

        Assert.False(settings.GetProperty("socket_mode_enabled").GetBoolean());
        Assert.Equal("https://<your-public-url>" + SlackIds.CommandsPath, root.GetProperty("features").GetProperty("slash_commands")[0].GetProperty("url").GetString());
        Assert.Equal("https://<your-public-url>" + SlackIds.EventsPath, settings.GetProperty("event_subscriptions").GetProperty("request_url").GetString());
        Assert.Equal("https://<your-public-url>" + SlackIds.InteractionsPath, settings.GetProperty("interactivity").GetProperty("request_url").GetString());
        Assert.Equal("https://<your-public-url>" + SlackIds.OptionsPath, settings.GetProperty("interactivity").GetProperty("message_menu_options_url").GetString());
    }

    [Fact]
    public void SocketModeManifest_NoRequestUrls()
    {
        using var manifest = Load("manifest.socket-mode.json");
        var text = manifest.RootElement.GetRawText();

        Assert.True(manifest.RootElement.GetProperty("settings").GetProperty("socket_mode_enabled").GetBoolean());
        Assert.DoesNotContain("\"url\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("request_url", text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Manifest_NoSecretsOrRealIds(string file)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "manifests", "slack", file));
        Assert.DoesNotMatch(SecretPattern(), text);
    }

    private static JsonDocument Load(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "manifests", "slack", file)));

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root was not found.");
    }

    [GeneratedRegex(@"xox[abpr]-|xapp-|\b[ATU][A-Z0-9]{8,}\b")]
    private static partial Regex SecretPattern();
}
