using System.Reflection;
using System.Text.Json;
using IncidentBot.Api;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Core.Permissions;
using IncidentBot.Hosting;
using IncidentBot.Paging;
using IncidentBot.Scheduling;
using IncidentBot.Slack;
using IncidentBot.Storage;
using IncidentBot.Teams;

namespace IncidentBot.Tests;

/// <summary>appsettings.example.json is the configuration reference: every key it shows exists, and every setting is shown.</summary>
public sealed class ConfigurationReferenceTests
{
    private static readonly Dictionary<string, Type[]> Sections = new()
    {
        ["Database"] = [typeof(DatabaseOptions)],
        [GroupCommitOptions.Section] = [typeof(GroupCommitOptions)],
        ["Api"] = [typeof(ApiOptions)],
        ["Permissions"] = [typeof(PermissionOptions)],
        ["ForwardedHeaders"] = [typeof(ForwardedHeadersSettings)],
        ["Dashboard"] = [typeof(IncidentLinkOptions)],
        ["Telemetry"] = [typeof(TelemetryOptions)],
        ["Reminders"] = [typeof(UpdateCadence), typeof(ReminderOptions)],
        ["Scheduler"] = [typeof(SchedulerOptions)],
        ["Outbox"] = [typeof(OutboxOptions)],
        ["Slack"] = [typeof(SlackOptions)],
        ["Teams"] = [typeof(TeamsOptions)],
        ["Escalation"] = [typeof(EscalationOptions)],
        ["Paging"] = [typeof(PagingOptions)],
        ["Retention"] = [typeof(RetentionOptions)],
    };

    // Bound from elsewhere (ConnectionStrings:IncidentBot) or deliberately not advertised.
    private static readonly HashSet<string> Unlisted = ["Database:ConnectionString", "Teams:TokenScope"];

    [Fact]
    public void EveryKeyInTheExample_IsASetting()
    {
        var unknown = ExampleKeys().Where(key => !IsSetting(key)).ToList();

        Assert.True(unknown.Count == 0, "appsettings.example.json shows keys nothing reads: " + string.Join(", ", unknown));
    }

    [Fact]
    public void EverySetting_IsInTheExample()
    {
        var shown = ExampleKeys().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var missing = Sections
            .SelectMany(section => section.Value.SelectMany(type => SettingKeys(section.Key, type)))
            .Where(key => !Unlisted.Contains(key) && !shown.Any(k => k.Equals(key, StringComparison.OrdinalIgnoreCase) || k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)))
            .ToList();

        Assert.True(missing.Count == 0, "settings missing from appsettings.example.json: " + string.Join(", ", missing));
    }

    [Theory]
    [InlineData("Api:Tokens")]
    [InlineData("Api:PrivateTokens")]
    [InlineData("Paging:PagerDuty:RoutingKey")]
    [InlineData("Paging:PagerDuty:RoutingKeys")]
    [InlineData("Paging:Opsgenie:ApiKey")]
    [InlineData("Paging:Webhook:Secret")]
    [InlineData("Paging:PagerDuty:WebhookSecret")]
    [InlineData("Paging:Opsgenie:WebhookToken")]
    public void SecretsInTheExample_AreEmpty(string key)
    {
        // A value here would work as a secret for whoever copies the file and forgets the environment variable.
        var values = ExampleValues().Where(v => v.Key == key || v.Key.StartsWith(key + ":", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(values);
        Assert.All(values, v => Assert.True(string.IsNullOrEmpty(v.Value), $"{v.Key} has an example value"));
    }

    private static bool IsSetting(string key)
    {
        var parts = key.Split(':');
        if (parts[0] is "Logging" || key == DatabaseOptions.ConnectionStringKey)
        {
            return true;
        }

        // A section may be nested (Database:GroupCommit); the key is a setting when any section it lies in has it.
        return Sections.Any(section =>
            key.StartsWith(section.Key + ":", StringComparison.OrdinalIgnoreCase)
            && section.Value.Any(type => Resolves(type, key[(section.Key.Length + 1)..].Split(':'))));
    }

    private static bool Resolves(Type type, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
        {
            return true;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            // A map keyed by names the operator picks (Paging:PagerDuty:RoutingKeys:payments).
            return path.Length == 1;
        }

        if (ElementType(type) is { } element)
        {
            // An array index (Levels:0) or a value of a list of strings.
            return int.TryParse(path[0], out _) && Resolves(element, path[1..]);
        }

        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is not null && IsBindable(property) && Resolves(property.PropertyType, path[1..]);
    }

    private static IEnumerable<string> SettingKeys(string prefix, Type type)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(IsBindable))
        {
            var key = $"{prefix}:{property.Name}";
            var nested = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (nested.Namespace?.StartsWith("IncidentBot", StringComparison.Ordinal) == true && nested.IsClass)
            {
                foreach (var inner in SettingKeys(key, nested))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return key;
            }
        }
    }

    // The binder sets writable properties and fills read-only collections.
    private static bool IsBindable(PropertyInfo property) => property.CanWrite || ElementType(property.PropertyType) is not null;

    private static Type? ElementType(Type type) =>
        type == typeof(string) ? null
        : type.IsArray ? type.GetElementType()
        : type.IsGenericType && type.GetGenericTypeDefinition() is var definition && (definition == typeof(List<>) || definition == typeof(IList<>))
            ? type.GetGenericArguments()[0]
        : null;

    private static List<string> ExampleKeys() => ExampleValues().Select(v => v.Key).ToList();

    private static List<KeyValuePair<string, string?>> ExampleValues()
    {
        var path = Path.Combine(RepositoryRoot(), "appsettings.example.json");
        using var json = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new List<KeyValuePair<string, string?>>();
        Flatten(json.RootElement, "", values);
        return values;
    }

    private static void Flatten(JsonElement element, string prefix, List<KeyValuePair<string, string?>> keys)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}:{property.Name}", keys);
                }

                break;
            case JsonValueKind.Array when element.GetArrayLength() > 0:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:{index++}", keys);
                }

                break;
            default:
                keys.Add(new(prefix, element.ValueKind switch
                {
                    JsonValueKind.String => element.GetString(),
                    JsonValueKind.Array => null, // an empty list
                    _ => element.ToString(),
                }));
                break;
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "IncidentBot.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("IncidentBot.sln not found above " + AppContext.BaseDirectory);
    }
}
