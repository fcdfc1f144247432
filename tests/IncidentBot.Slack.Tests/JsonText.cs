using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IncidentBot.Slack.Tests;

internal static class JsonText
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The JSON without \u escapes, so assertions can look for <c>&lt;@U1&gt;</c> or <c>·</c>.</summary>
    public static string Raw(this JsonNode? node) => node?.ToJsonString(Relaxed) ?? "";
}
