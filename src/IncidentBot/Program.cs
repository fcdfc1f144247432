using IncidentBot.Api;
using IncidentBot.Core;
using IncidentBot.Dashboard;
using IncidentBot.Hosting;
using IncidentBot.Paging;
using IncidentBot.Scheduling;
using IncidentBot.Slack;
using IncidentBot.Storage;
using IncidentBot.Teams;

var builder = WebApplication.CreateBuilder(args);

builder.AddLogs();
builder.AddTelemetry();
builder.AddWebSecurity();
builder.AddIncidentEngine();
builder.AddStorage();
builder.AddPaging();
builder.AddScheduling();
builder.AddSlack();
builder.AddTeams();
builder.AddApi();
builder.AddDashboard();

var app = builder.Build();

app.UseWebSecurity();
app.UseAckTiming();
app.UseStoreOutages();
app.UseRouting();
app.UseAuthentication();
app.UseRateLimiter();

app.MapHealth();
app.MapIncidentApi();
app.MapDashboard();
app.MapSlack();
app.MapTeams();
app.MapPaging();

return await app.RunGuardedAsync();

/// <summary>Entry point; public so integration tests can host it.</summary>
public partial class Program;
