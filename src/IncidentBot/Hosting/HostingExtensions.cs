using IncidentBot.Core;
using IncidentBot.Core.Application;
using IncidentBot.Core.Incidents;
using IncidentBot.Scheduling;
using IncidentBot.Storage;
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

    public static IHostApplicationBuilder AddIncidentEngine(this IHostApplicationBuilder builder)
    {
        builder.Services.AddIncidentEngine();
        builder.Services.AddOptions<UpdateCadence>().BindConfiguration("Reminders");
        builder.Services.AddSingleton<IValidateOptions<UpdateCadence>, UpdateCadenceValidator>();
        builder.Services.AddOptions<UpdateCadence>().ValidateOnStart();
        builder.Services.AddOptions<OutboxOptions>().BindConfiguration("Outbox")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "Outbox:PollInterval must be a positive time span such as 00:00:00.5")
            .Validate(o => o.Lease >= TimeSpan.FromSeconds(10), "Outbox:Lease must be at least 00:00:10 (longer than the slowest delivery)")
            .Validate(o => o.BatchSize is >= 1 and <= 1000, "Outbox:BatchSize must be between 1 and 1000")
            .Validate(o => o.MaxAttempts >= 1, "Outbox:MaxAttempts must be at least 1")
            .Validate(o => o.DeliveryTimeout > TimeSpan.Zero && o.DeliveryTimeout < o.Lease, "Outbox:DeliveryTimeout must be a positive time span shorter than Outbox:Lease")
            .Validate(o => o.CheckinInterval >= TimeSpan.FromSeconds(1) && o.CheckinInterval <= TimeSpan.FromMinutes(5), "Outbox:CheckinInterval must be between 00:00:01 and 00:05:00")
            .ValidateOnStart();
        return builder;
    }

    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddIncidentStorage(builder.Configuration);
        return builder;
    }

    public static IHostApplicationBuilder AddScheduler(this IHostApplicationBuilder builder)
    {
        // An invalid database setting is reported by the storage options' start-up validation; until then the
        // scheduler is given the embedded default so that validation, not this line, names the key.
        var database = new DatabaseOptions
        {
            Provider = builder.Configuration[DatabaseOptions.ProviderKey],
            ConnectionString = builder.Configuration.GetConnectionString(DatabaseOptions.ConnectionStringName),
        };
        var valid = database.TryGetProvider(out var provider) && (provider == DatabaseProvider.Sqlite || !string.IsNullOrWhiteSpace(database.ConnectionString));
        builder.Services.AddScheduling(
            builder.Configuration,
            valid
                ? new SchedulerDatabase(provider == DatabaseProvider.Postgres, database.GetConnectionString())
                : new SchedulerDatabase(false, DatabaseOptions.DefaultSqliteConnectionString));
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

internal sealed class UpdateCadenceValidator : IValidateOptions<UpdateCadence>
{
    public ValidateOptionsResult Validate(string? name, UpdateCadence options)
    {
        var negative = new[] { ("Sev1", options.Sev1), ("Sev2", options.Sev2), ("Sev3", options.Sev3), ("Sev4", options.Sev4) }
            .Where(c => c.Item2 is { } t && t <= TimeSpan.Zero)
            .Select(c => $"Reminders:{c.Item1} must be a positive time span such as 00:15:00, or empty for no reminders")
            .ToList();
        return negative.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(negative);
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
