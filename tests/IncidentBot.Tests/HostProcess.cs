// IncidentBot.Slack.Tests compiles this file through a link in its project and still calls the launcher HostProcess;
// delete the file and that link once it uses IncidentBot.TestKit.Processes.BotProcess directly.
global using HostProcess = IncidentBot.TestKit.Processes.BotProcess;
