using System.Net;
using System.Text;
using IncidentBot.TestKit.Processes;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// The report, as a deployment runs: the built host in Production with no Teams settings (a Slack-only
/// install). An unauthenticated activity, proxied or not, is refused; the start-up log says Teams is off.
/// </summary>
public sealed class TeamsOffTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PostMessages_SlackOnlyDeploymentInProduction_Returns401AndSaysTeamsIsOff()
    {
        await using var bot = BotProcess.Start();
        var address = await bot.WaitUntilListeningAsync(StartTimeout);
        using var http = new HttpClient { BaseAddress = address };
        var activity = new TeamsActivities("http://127.0.0.1:9/").Command("playground-conversation", new TeamsUser("29:x", "aad-x", "X"), "declare sev1 Checkout is down", "personal");

        using var proxied = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json") };
        proxied.Headers.Add("X-Forwarded-For", "203.0.113.9");
        using var direct = new HttpRequestMessage(HttpMethod.Post, "/api/messages") { Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json") };

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(proxied)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(direct)).StatusCode);
        Assert.Contains("Teams: off (no Teams:AppId)", bot.Output, StringComparison.Ordinal);
        using var incidents = await http.GetAsync(new Uri("/api/incidents", UriKind.Relative));
        Assert.Contains("\"incidents\":[]", (await incidents.Content.ReadAsStringAsync()).Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
