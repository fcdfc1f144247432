using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Teams.Cards;
using IncidentBot.Teams.Connector;

namespace IncidentBot.Teams.Tests;

/// <summary>The Adaptive Cards stay inside what Teams renders: schema 1.5, known elements, Universal Actions with fallback.</summary>
public sealed class CardTests
{
    private static readonly HashSet<string> Elements1_5 =
    [
        "TextBlock", "Image", "Media", "RichTextBlock", "TextRun", "Container", "ColumnSet", "Column", "FactSet", "ImageSet", "ActionSet", "Table", "TableRow", "TableCell",
        "Input.Text", "Input.Number", "Input.Date", "Input.Time", "Input.Toggle", "Input.ChoiceSet",
    ];

    private static readonly HashSet<string> Actions1_5 = ["Action.Execute", "Action.Submit", "Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"];

    public static TheoryData<string> CardNames => new() { "new", "acknowledged", "resolved", "long", "declareForm", "reminder", "reminderAnswered", "escalated" };

    [Theory]
    [MemberData(nameof(CardNames))]
    public void Card_AnyState_StaysWithinAdaptiveCards15(string name)
    {
        var card = Cards()[name];
        Assert.Equal("AdaptiveCard", (string?)card["type"]);
        Assert.Equal("1.5", (string?)card["version"]);
        var ids = new List<string>();
        Walk(card, ids);
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        var bytes = Encoding.UTF8.GetByteCount(card.ToJsonString());
        Assert.True(bytes < ConnectorClient.MaxActivityBytes / 4, $"{name} card is {bytes} bytes");
    }

    [Fact]
    public void IncidentCard_OpenIncident_OffersEveryActionWithSubmitFallback()
    {
        var json = Cards()["new"].ToJsonString();
        foreach (var verb in new[] { CardVerbs.Acknowledge, CardVerbs.Update, CardVerbs.Severity, CardVerbs.Status, CardVerbs.AssignRole, CardVerbs.Resolve, CardVerbs.Postmortem })
        {
            Assert.Contains($"\"verb\":\"{verb}\"", json, StringComparison.Ordinal);
        }

        Assert.Contains("\"dataset\":\"graph.microsoft.com/users\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void IncidentCard_AnyState_PostmortemOnItsOwnRow()
    {
        static List<List<JsonObject>> ActionSets(JsonObject card) =>
            card["body"]!.AsArray().Where(b => (string?)b!["type"] == "ActionSet")
                .Select(set => set!["actions"]!.AsArray().Select(a => a!.AsObject()).ToList()).ToList();

        var open = ActionSets(Cards()["new"]);
        Assert.Equal(2, open.Count);
        Assert.Equal(5, open[0].Count);
        Assert.Equal(CardVerbs.Postmortem, (string?)Assert.Single(open[1])["verb"]);

        var resolved = Assert.Single(Assert.Single(ActionSets(Cards()["resolved"])));
        Assert.Equal(CardVerbs.Postmortem, (string?)resolved["verb"]);
        Assert.Equal("INC-42", (string?)resolved["data"]!["incident"]);
    }

    [Fact]
    public void ReminderCard_TeamsPeople_MentionedWithEntitiesMatchingTheText()
    {
        var card = IncidentCards.Reminder(Reminder(new Person("teams", "aad-bo", "Bo"), new Person("teams", "aad-cy", "Cy")));

        var entities = card["msteams"]!["entities"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal(["aad-bo", "aad-cy"], entities.Select(e => (string)e["mentioned"]!["id"]!).ToArray());
        Assert.All(entities, e => Assert.Equal("mention", (string?)e["type"]));
        var texts = card["body"]!.AsArray().Where(b => (string?)b!["type"] == "TextBlock").Select(b => (string)b!["text"]!).ToList();
        Assert.Contains(texts, t => t.StartsWith("<at>Bo</at>, <at>Cy</at>", StringComparison.Ordinal));
        Assert.All(entities, e => Assert.Contains(texts, t => t.Contains((string)e["text"]!, StringComparison.Ordinal)));
        Assert.Contains($"\"verb\":\"{CardVerbs.ReminderUpdate}\"", card.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReminderCard_PersonFromSlack_NamedNotMentioned()
    {
        var card = IncidentCards.Reminder(Reminder(new Person("slack", "U123ABC", "bo"), new Person("teams", "aad-cy", "Cy")));

        var entity = Assert.Single(card["msteams"]!["entities"]!.AsArray());
        Assert.Equal("aad-cy", (string?)entity!["mentioned"]!["id"]);
        Assert.Contains(card["body"]!.AsArray(), b => (string?)b!["text"] == "bo, <at>Cy</at>: please post one here.");
    }

    [Fact]
    public void ReminderCard_NobodyInTheRoles_AsksTheRoomWithoutEntities()
    {
        var card = IncidentCards.Reminder(Reminder(null, null));

        Assert.Null(card["msteams"]!["entities"]);
        Assert.Contains(card["body"]!.AsArray(), b => (string?)b!["text"] == "Please post one here.");
    }

    [Fact]
    public async Task Cards_AdaptiveCardsLibrary_ParseWithoutErrors()
    {
        var directory = Path.Combine(RepositoryRoot(), "tests", "IncidentBot.Teams.Tests", "CardValidation");
        if (!Directory.Exists(Path.Combine(directory, "node_modules", "adaptivecards")))
        {
            var (installCode, installOutput) = await RunAsync("npm", "install --no-audit --no-fund", directory);
            Assert.True(installCode == 0, $"npm install failed (Node 20 and the npm registry are needed for this test): {installOutput}");
        }

        var input = Path.Combine(Path.GetTempPath(), $"incidentbot-cards-{Guid.NewGuid():N}.json");
        var cards = new JsonArray(Cards().Select(c => (JsonNode)new JsonObject { ["name"] = c.Key, ["card"] = c.Value.DeepClone() }).ToArray());
        await File.WriteAllTextAsync(input, cards.ToJsonString());
        try
        {
            var (code, output) = await RunAsync("node", $"validate.js \"{input}\"", directory);
            Assert.True(code == 0, output);
            var results = JsonNode.Parse(output)!.AsArray();
            Assert.Equal(Cards().Count, results.Count);
            foreach (var result in results)
            {
                var problems = result!["events"]!.AsArray()
                    // The people picker's choices come from Data.Query, so its static list is empty by design.
                    .Where(e => (string?)e!["event"] != "CollectionCantBeEmpty")
                    .Select(e => $"{result["name"]}: {e!["event"]} {e["message"]}")
                    .ToList();
                Assert.Empty(problems);
                Assert.Equal("1.5", (string?)result["version"]);
            }
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static Dictionary<string, JsonObject> Cards()
    {
        var ann = new Person("teams", "aad-ann", "Ann");
        var declaredAt = new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);
        var open = new Incident(1, new IncidentNumber(42), "Checkout is down", null, Severity.Sev1, IncidentStatus.Investigating, ann, declaredAt, 1)
        {
            NextUpdateDueAt = declaredAt.AddMinutes(15),
        };
        var roles = new Dictionary<IncidentRole, Person> { [IncidentRole.Commander] = new("teams", "aad-bo", "Bo"), [IncidentRole.Comms] = ann };
        var acknowledged = new Incident(1, new IncidentNumber(42), "Checkout is down", null, Severity.Sev2, IncidentStatus.Identified, ann, declaredAt, 3)
        {
            Roles = roles,
            AcknowledgedAt = declaredAt.AddMinutes(2),
        };
        var resolved = new Incident(1, new IncidentNumber(42), "Checkout is down", null, Severity.Sev2, IncidentStatus.Resolved, ann, declaredAt, 9)
        {
            Roles = roles,
            AcknowledgedAt = declaredAt.AddMinutes(2),
            ResolvedAt = declaredAt.AddHours(1),
            Summary = "Cert renewed",
        };
        var longTitle = new Incident(2, new IncidentNumber(43), new string('x', 200), null, Severity.Sev4, IncidentStatus.Monitoring, ann, declaredAt, 1);
        return new Dictionary<string, JsonObject>
        {
            ["new"] = IncidentCards.Incident(open),
            ["acknowledged"] = IncidentCards.Incident(acknowledged),
            ["resolved"] = IncidentCards.Incident(resolved),
            ["long"] = IncidentCards.Incident(longTitle),
            ["declareForm"] = IncidentCards.DeclareForm(),
            ["reminder"] = IncidentCards.Reminder(Reminder(roles[IncidentRole.Commander], ann)),
            ["reminderAnswered"] = IncidentCards.ReminderAnswered(acknowledged, "Ann"),
            ["escalated"] = IncidentCards.Incident(open, new EscalationState(
                Enumerable.Range(1, EscalationState.MaxPages).Select(n => new PageSent($"opsgenie:escalation:{new string('e', 200)}", n, $"incidentbot-INC-42-{n}", "sent", declaredAt.AddMinutes(n))).ToList(),
                40,
                "Acknowledged in PagerDuty by Ann Oncall",
                new NextLevel(6, ["pagerduty:payments", "opsgenie:team:Payments"], declaredAt.AddMinutes(30)))),
        };
    }

    private static UpdateReminderDue Reminder(Person? commander, Person? comms) =>
        new(new DateTimeOffset(2026, 11, 22, 3, 15, 0, TimeSpan.Zero), 2, commander, comms) { Number = new IncidentNumber(42) };

    private static void Walk(JsonNode? node, List<string> ids)
    {
        if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                Walk(item, ids);
            }

            return;
        }

        if (node is not JsonObject obj)
        {
            return;
        }

        if ((string?)obj["type"] is { } type)
        {
            if (type.StartsWith("Action.", StringComparison.Ordinal))
            {
                Assert.Contains(type, Actions1_5);
                if (type == "Action.Execute")
                {
                    Assert.False(string.IsNullOrEmpty((string?)obj["verb"]));
                    Assert.Equal("Action.Submit", (string?)obj["fallback"]?["type"]);
                    Assert.Equal(obj["data"]?.ToJsonString(), obj["fallback"]?["data"]?.ToJsonString());
                }
            }
            else if (type != "AdaptiveCard")
            {
                Assert.Contains(type, Elements1_5);
                if (type.StartsWith("Input.", StringComparison.Ordinal))
                {
                    Assert.False(string.IsNullOrEmpty((string?)obj["label"]), $"{obj["id"]} has no label");
                    Assert.True((bool?)obj["isRequired"] != true || !string.IsNullOrEmpty((string?)obj["errorMessage"]), $"{obj["id"]} has no errorMessage");
                }
            }

            if ((string?)obj["id"] is { } id)
            {
                ids.Add(id);
            }
        }

        Assert.True(obj["actions"] is not JsonArray actions || actions.Count <= 5, "Teams shows at most five actions per set");
        foreach (var (key, value) in obj)
        {
            if (key is not "data" and not "choices.data" and not "msteams" and not "fallback")
            {
                Walk(value, ids);
            }
        }
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("IncidentBot.sln not found above the test binaries.");
    }

    internal static async Task<(int Code, string Output)> RunAsync(string file, string arguments, string directory)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        var errors = await stderr;
        return (process.ExitCode, process.ExitCode == 0 ? output : output + errors);
    }
}
