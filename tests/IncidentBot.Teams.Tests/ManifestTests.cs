using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using IncidentBot.Core.Commands;

namespace IncidentBot.Teams.Tests;

/// <summary>manifests/teams: the manifest agrees with the code, the icons are what Teams accepts, the package builds.</summary>
public sealed class ManifestTests
{
    private static readonly string Folder = Path.Combine(CardTests.RepositoryRoot(), "manifests", "teams");

    private static JsonObject Manifest() => JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "manifest.json")))!.AsObject();

    [Fact]
    public void Manifest_Bot_HasAllScopesAndOnlyKnownCommands()
    {
        var manifest = Manifest();
        Assert.Equal("1.25", (string?)manifest["manifestVersion"]);
        Assert.Contains("/v1.25/", (string?)manifest["$schema"], StringComparison.Ordinal);
        var bot = manifest["bots"]![0]!;
        Assert.Equal(["personal", "team", "groupChat"], bot["scopes"]!.AsArray().Select(s => (string)s!));
        var commands = bot["commandLists"]![0]!["commands"]!.AsArray();
        Assert.InRange(commands.Count, 1, 12);
        foreach (var command in commands)
        {
            var title = (string)command!["title"]!;
            Assert.NotNull(CommandGrammar.Find(title));
            Assert.InRange(title.Length, 1, 32);
            Assert.InRange(((string)command["description"]!).Length, 1, 128);
        }
    }

    /// <summary>The bot consents to exactly these when it installs itself into a private incident's chat (Graph requires them to match).</summary>
    [Fact]
    public void Manifest_Rsc_IsWhatTheBotConsentsToInPrivateChats()
    {
        var declared = Manifest()["authorization"]!["permissions"]!["resourceSpecific"]!.AsArray()
            .Select(p => ((string)p!["name"]!, (string)p["type"]!)).ToHashSet();
        Assert.Equal(declared, TeamsIds.ResourceSpecificPermissions.Select(p => (p.Name, p.Type)).ToHashSet());
    }

    [Fact]
    public void Manifest_MessageAction_IsTheOneTheBotHandles()
    {
        var command = Manifest()["composeExtensions"]![0]!["commands"]![0]!;
        Assert.Equal(TeamsIds.AddToTimelineCommandId, (string?)command["id"]);
        Assert.Equal("action", (string?)command["type"]);
        Assert.Equal(["message"], command["context"]!.AsArray().Select(c => (string)c!));
    }

    [Fact]
    public void Manifest_Rsc_CoversMessagesAndMeetings()
    {
        var manifest = Manifest();
        var permissions = manifest["authorization"]!["permissions"]!["resourceSpecific"]!.AsArray()
            .Select(p => ((string)p!["name"]!, (string)p["type"]!)).ToList();
        foreach (var name in new[] { "ChannelMessage.Read.Group", "ChatMessage.Read.Chat", "OnlineMeeting.ReadBasic.Chat", "OnlineMeetingParticipant.Read.Chat" })
        {
            Assert.Contains((name, "Application"), permissions);
        }

        // Teams:WarRoom=channel: creating the incident channels in a team that installed the app, without tenant-wide Channel.Create.
        Assert.Contains(("Channel.Create.Group", "Application"), permissions);
        Assert.Equal("{{BOT_APP_ID}}", (string?)manifest["webApplicationInfo"]!["id"]);
        Assert.Equal("{{BOT_APP_ID}}", (string?)manifest["bots"]![0]!["botId"]);
        Assert.Equal("{{TEAMS_APP_ID}}", (string?)manifest["id"]);
    }

    [Fact]
    public void Icons_ColorAndOutline_HaveTeamsSizesAndOutlineIsWhiteOnTransparent()
    {
        var (colorWidth, colorHeight, _) = ReadPng(Path.Combine(Folder, "color.png"));
        Assert.Equal((192, 192), (colorWidth, colorHeight));

        var (width, height, pixels) = ReadPng(Path.Combine(Folder, "outline.png"));
        Assert.Equal((32, 32), (width, height));
        var alphas = pixels.Chunk(4).ToList();
        Assert.All(alphas, p => Assert.True(p[3] == 0 || p[0] == 255 && p[1] == 255 && p[2] == 255 && p[3] == 255, "outline pixels are white or transparent"));
        Assert.Contains(alphas, p => p[3] == 0);
        Assert.Contains(alphas, p => p[3] == 255);
    }

    [Fact]
    public async Task BuildPackage_WithIds_ZipHasManifestAndIconsAtRoot()
    {
        var output = Path.Combine(Path.GetTempPath(), $"incidentbot-teams-{Guid.NewGuid():N}.zip");
        var start = new ProcessStartInfo("python3", $"\"{Path.Combine(Folder, "build_package.py")}\" --out \"{output}\"")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["BOT_APP_ID"] = "11111111-2222-3333-4444-555555555555";
        start.Environment["BOT_DOMAIN"] = "incidentbot.example.com";
        start.Environment.Remove("TEAMS_APP_ID");
        using (var process = Process.Start(start)!)
        {
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        }

        try
        {
            using var zip = ZipFile.OpenRead(output);
            Assert.Equal(["color.png", "manifest.json", "outline.png"], zip.Entries.Select(e => e.FullName).Order(StringComparer.Ordinal));
            using var reader = new StreamReader(zip.GetEntry("manifest.json")!.Open());
            var text = await reader.ReadToEndAsync();
            Assert.DoesNotContain("{{", text, StringComparison.Ordinal);
            var manifest = JsonNode.Parse(text)!;
            Assert.Equal("11111111-2222-3333-4444-555555555555", (string?)manifest["id"]);
            Assert.Equal("11111111-2222-3333-4444-555555555555", (string?)manifest["bots"]![0]!["botId"]);
            Assert.Equal("incidentbot.example.com", (string?)manifest["validDomains"]![0]);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>Decodes an 8-bit RGBA PNG (the format make_icons.py writes) into RGBA bytes.</summary>
    private static (int Width, int Height, byte[] Pixels) ReadPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        for (var at = 8; at < bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
            var data = bytes.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                Assert.Equal(6, data[9]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            at += 12 + length;
        }

        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        var raw = inflated.ToArray();
        var stride = width * 4;
        var pixels = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            Assert.Equal(0, raw[y * (stride + 1)]);
            Array.Copy(raw, y * (stride + 1) + 1, pixels, y * stride, stride);
        }

        return (width, height, pixels);
    }
}
