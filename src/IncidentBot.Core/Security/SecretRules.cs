namespace IncidentBot.Core.Security;

/// <summary>
/// What a configured secret must not look like. Every options validator that holds a secret (signing secrets,
/// tokens, API keys, passwords) asks here, so one forgotten environment variable stops start-up instead of
/// leaving an example value from the documentation in charge.
/// </summary>
public static class SecretRules
{
    /// <summary>API and dashboard tokens are guessable below this length.</summary>
    public const int MinimumTokenLength = 24;

    private static readonly string[] PlaceholderWords =
        ["changeme", "change-me", "change_me", "replace-me", "replaceme", "your-secret", "your-token", "secret-here", "token-here", "placeholder", "example", "xxxxxx"];

    /// <summary>True for values copied from documentation: <c>&lt;…&gt;</c>, an ellipsis, <c>changeme</c> and the like.</summary>
    public static bool LooksLikePlaceholder(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var v = value.Trim();
        return v.Contains('<', StringComparison.Ordinal) || v.Contains('>', StringComparison.Ordinal)
            || v.Contains('…', StringComparison.Ordinal) || v.Contains("...", StringComparison.Ordinal)
            || v.Contains("{{", StringComparison.Ordinal) || v.Contains("${", StringComparison.Ordinal)
            || PlaceholderWords.Any(w => v.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// The start-up failure for secret <paramref name="key"/>, or null when its value is acceptable (or unset, which
    /// each validator judges itself). <paramref name="minimumLength"/> applies to values we generate (API tokens).
    /// </summary>
    public static string? Check(string key, string? value, int minimumLength = 0)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (LooksLikePlaceholder(value))
        {
            return $"{key} holds a placeholder, not a secret (set the real value from the environment)";
        }

        return value.Trim().Length < minimumLength
            ? $"{key} must be at least {minimumLength} characters (generate one with: openssl rand -hex 32)"
            : null;
    }
}
