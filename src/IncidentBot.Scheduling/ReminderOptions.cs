using Microsoft.Extensions.Options;

namespace IncidentBot.Scheduling;

/// <summary>Reminder settings under <c>Reminders:*</c> beyond the per-severity cadence (<c>Reminders:Sev1..Sev4</c>).</summary>
public sealed class ReminderOptions
{
    public const string Section = "Reminders";

    /// <summary>Remind the war room when nobody is incident commander this long after declaration; empty turns it off.</summary>
    public TimeSpan? CommanderMissingAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Which missed reminder (update or commander) starts paging the escalation chain.</summary>
    public int EscalateAfterMissed { get; set; } = 2;
}

internal sealed class ReminderOptionsValidator : IValidateOptions<ReminderOptions>
{
    public ValidateOptionsResult Validate(string? name, ReminderOptions options)
    {
        var failures = new List<string>();
        if (options.CommanderMissingAfter is { } after && after <= TimeSpan.Zero)
        {
            failures.Add("Reminders:CommanderMissingAfter must be a positive time span such as 00:10:00, or empty for no reminder");
        }

        if (options.EscalateAfterMissed is < 1 or > 10)
        {
            failures.Add("Reminders:EscalateAfterMissed must be between 1 and 10");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
