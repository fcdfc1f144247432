using IncidentBot.Core.Application;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace IncidentBot.Hosting;

/// <summary>The composition root, one extension per concern so Program.cs reads as a table of contents.</summary>
internal static class HostingExtensions
{
    public static IHostApplicationBuilder AddLogs(this IHostApplicationBuilder builder)
    {
        // One line per entry by default; Logging:Console:FormatterName=json switches to JSON lines.
        builder.Services.Configure<SimpleConsoleFormatterOptions>(console =>
        {
            console.SingleLine = true;
            console.UseUtcTimestamp = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        return builder;
    }

    /// <summary>
    /// Runs the app; a configuration mistake ends start-up with one line naming the key instead of a stack trace.
    /// </summary>
    public static async Task<int> RunGuardedAsync(this WebApplication app)
    {
        try
        {
            // Validate before the host starts, so a mistake is reported here once rather than logged as a crash.
            app.Services.GetService<IStartupValidator>()?.Validate();
            await app.RunAsync();
            return 0;
        }
        catch (Exception ex) when (ConfigurationError.Describe(ex) is { } message)
        {
            await Console.Error.WriteLineAsync($"IncidentBot cannot start: {message}");
            return 2;
        }
    }
}

internal static class ConfigurationError
{
    /// <summary>A one-line description when <paramref name="exception"/> is a configuration mistake; otherwise null.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        OptionsValidationException validation => string.Join("; ", validation.Failures),
        StartupRefusedException refused => refused.Message,
        InvalidOperationException binding when binding.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => binding.Message,
        AggregateException aggregate => Join(aggregate.InnerExceptions.Select(Describe)),
        _ => null,
    };

    // Start-up validation reports every bad section at once; so does the one line, when all of them are configuration mistakes.
    private static string? Join(IEnumerable<string?> messages)
    {
        var described = messages.ToList();
        return described.Count > 0 && described.All(m => m is not null) ? string.Join("; ", described) : null;
    }
}
