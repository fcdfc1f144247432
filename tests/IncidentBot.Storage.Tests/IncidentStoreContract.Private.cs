using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;

namespace IncidentBot.Storage.Tests;

public abstract partial class IncidentStoreContract
{
    [Fact]
    public async Task DeclareAsync_Private_IsStoredPrivate()
    {
        var declared = (await Incidents.DeclareAsync(new DeclareRequest("Payroll export leaked", Severity.Sev1) { IsPrivate = true }, AsAlice, None)).Incident;

        Assert.True(declared.IsPrivate);
        Assert.True((await Store.GetAsync(declared.Number, None))!.IsPrivate);
        Assert.False((await DeclareAsync("Checkout is down")).IsPrivate);
    }

    [Fact]
    public async Task MakePrivateAsync_PublicIncident_StaysPrivateThroughLaterChanges()
    {
        var incident = await DeclareAsync(warRoom: Room1);

        await Incidents.MakePrivateAsync(incident.Number, new Actor(Alice, Room1), None);
        await Incidents.ChangeSeverityAsync(incident.Number, Severity.Sev1, AsAlice, None);

        var stored = (await Store.GetAsync(incident.Number, None))!;
        Assert.True(stored.IsPrivate);
        Assert.Equal(Severity.Sev1, stored.Severity);
        Assert.True((await Store.FindByWarRoomAsync(Room1, None))!.IsPrivate);
    }

    [Fact]
    public async Task ListAsync_PublicOnly_LeavesPrivateIncidentsOut()
    {
        var open = await DeclareAsync("Checkout is down");
        await Incidents.DeclareAsync(new DeclareRequest("Payroll export leaked", Severity.Sev1) { IsPrivate = true }, AsAlice, None);

        var everything = await Store.ListAsync(new IncidentQuery(), None);
        var publicOnly = await Store.ListAsync(new IncidentQuery { PublicOnly = true }, None);

        Assert.Equal(2, everything.Count);
        Assert.Equal([open.Number], publicOnly.Select(i => i.Number));
    }
}
