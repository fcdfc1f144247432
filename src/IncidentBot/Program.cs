using IncidentBot.Api;
using IncidentBot.Dashboard;
using IncidentBot.Hosting;
using IncidentBot.Slack;
using IncidentBot.Teams;

var builder = WebApplication.CreateBuilder(args);

builder.AddLogs();
builder.AddTelemetry();
builder.AddIncidentEngine();
builder.AddStorage();
builder.AddScheduler();
builder.AddSlack();
builder.AddTeams();
builder.AddApi();
builder.AddDashboard();

var app = builder.Build();

app.UseAckTiming();
app.UseStoreOutages();

app.MapHealth();
app.MapIncidentApi();
app.MapDashboard();
app.MapSlack();
app.MapTeams();

return await app.RunGuardedAsync();

/// <summary>Entry point; public so integration tests can host it.</summary>
public partial class Program;
