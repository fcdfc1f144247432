using System.Net;
using System.Text.Json.Nodes;
using IncidentBot.Core.Application;
using IncidentBot.TestKit.Teams;

namespace IncidentBot.Teams.Tests;

/// <summary>
/// With Teams:TenantId set only that tenant acts, unless Teams:AllowedTenants lists more (or *). A valid token from
/// the Bot Connector says nothing about the organisation: an activity from another tenant has no effect at all.
/// </summary>
public sealed class TenantTests
{
    private const string OtherTenant = "0f0f0f0f-0000-0000-0000-other0000001";

    [Fact]
    public async Task PostMessages_ForeignTenantWithTenantIdSetAndNoAllowedTenants_NoIncidentNoReply()
    {
        await using var world = await TeamsWorld.StartAsync();

        var response = await world.PostAsync(FromTenant(world, OtherTenant, OtherTenant));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
        Assert.DoesNotContain(world.Connector.Calls, c => c.Operation != ConnectorOperation.GetMember);
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.Contains($"tenant '{OtherTenant}'", StringComparison.Ordinal));
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.Contains($"accepted only from tenants {TeamsActivities.TenantId}", StringComparison.Ordinal));
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.StartsWith("Teams: Bot Framework authentication on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task PostMessages_ConversationNamesAnotherTenantThanChannelData_Refused()
    {
        await using var world = await TeamsWorld.StartAsync();

        var response = await world.PostAsync(FromTenant(world, TeamsActivities.TenantId, OtherTenant));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await world.Store.ListAsync(new IncidentQuery(), default));
    }

    [Fact]
    public async Task PostMessages_OwnTenant_Declares()
    {
        await using var world = await TeamsWorld.StartAsync();

        var response = await world.PostAsync(FromTenant(world, TeamsActivities.TenantId, TeamsActivities.TenantId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(await world.Store.ListAsync(new IncidentQuery(), default));
    }

    [Theory]
    [InlineData(OtherTenant)]
    [InlineData("*")]
    public async Task PostMessages_TenantListedInAllowedTenants_Declares(string allowed)
    {
        await using var world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?> { ["Teams:AllowedTenants:0"] = allowed });

        var response = await world.PostAsync(FromTenant(world, OtherTenant, OtherTenant));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(await world.Store.ListAsync(new IncidentQuery(), default));
    }

    [Fact]
    public async Task Start_MultiTenantBot_LogsThatEveryTenantIsAccepted()
    {
        await using var world = await TeamsWorld.StartAsync(settings: new Dictionary<string, string?> { ["Teams:TenantId"] = "" });

        var response = await world.PostAsync(FromTenant(world, OtherTenant, OtherTenant));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(world.Logs.GetSnapshot(), r => r.Message.Contains("activities from every Microsoft 365 tenant are accepted", StringComparison.Ordinal));
    }

    private static JsonObject FromTenant(TeamsWorld world, string channelDataTenant, string conversationTenant)
    {
        var activity = world.Activities.Command("19:tenant@thread.tacv2", TeamsWorld.Ann, "declare sev1 Checkout is down");
        activity["channelData"]!["tenant"]!["id"] = channelDataTenant;
        activity["conversation"]!["tenantId"] = conversationTenant;
        return activity;
    }
}
