using IncidentBot.Core.Security;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace IncidentBot.Storage;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where incidents are stored: <c>Database:Provider</c> (<c>Sqlite</c> by default, or <c>Postgres</c>) and
/// <c>ConnectionStrings:IncidentBot</c>.
/// </summary>
public sealed class DatabaseOptions
{
    public const string ProviderKey = "Database:Provider";
    public const string ConnectionStringName = "IncidentBot";
    public const string ConnectionStringKey = "ConnectionStrings:" + ConnectionStringName;
    public const string DefaultSqliteConnectionString = "Data Source=incidentbot.db";

    /// <summary>The configured provider name, case-insensitive; empty means <see cref="DatabaseProvider.Sqlite"/>.</summary>
    public string? Provider { get; set; }

    public string? ConnectionString { get; set; }

    public const string MaxConnectionsKey = "Database:MaxConnections";

    /// <summary>
    /// On PostgreSQL, every connection this instance opens at most: the store and outbox, the scheduler and the outbox
    /// listener, split by <see cref="ConnectionBudget"/>. Instances × this must fit the server's <c>max_connections</c>.
    /// </summary>
    public int MaxConnections { get; set; } = ConnectionBudget.DefaultMax;

    public const string PoolWaitKey = "Database:PoolWait";

    /// <summary>The longest an inbound request waits for a store connection when all are busy (then it is refused with 503).</summary>
    public static readonly TimeSpan MostPoolWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// On PostgreSQL, how long an inbound request waits for a free connection of the store's pool before it is refused
    /// with 503 and Retry-After, so the chat platform retries: well under Slack's 3 s by default. Opening a new
    /// connection keeps the connection string's <c>Timeout</c>; background work waits as long as that.
    /// </summary>
    public TimeSpan PoolWait { get; set; } = TimeSpan.FromSeconds(2);

    public const string ListenConnectionStringKey = "Database:ListenConnectionString";

    /// <summary>
    /// On PostgreSQL, where the outbox listener's session (<c>LISTEN</c>) connects; empty means the store's connection
    /// string. Behind PgBouncer in transaction mode set it to PostgreSQL itself (or a session-mode pool): a listening
    /// session cannot be shared.
    /// </summary>
    public string? ListenConnectionString { get; set; }

    /// <summary>Where the outbox listener connects: <see cref="ListenConnectionString"/>, or the store's connection string.</summary>
    public string GetListenConnectionString() =>
        string.IsNullOrWhiteSpace(ListenConnectionString) ? GetConnectionString() : ListenConnectionString;

    /// <summary>How the connections are split between the store, the scheduler and the listener.</summary>
    public ConnectionBudget Budget => ConnectionBudget.Split(MaxConnections);

    public bool TryGetProvider(out DatabaseProvider provider)
    {
        provider = DatabaseProvider.Sqlite;
        return string.IsNullOrWhiteSpace(Provider)
            || (Enum.TryParse(Provider.Trim(), ignoreCase: true, out provider) && Enum.IsDefined(provider));
    }

    public DatabaseProvider GetProvider() =>
        TryGetProvider(out var provider) ? provider : throw new InvalidOperationException(DatabaseOptionsValidator.ProviderError(Provider));

    /// <summary>The configured connection string, or the SQLite default file when none is set.</summary>
    public string GetConnectionString() =>
        !string.IsNullOrWhiteSpace(ConnectionString) ? ConnectionString
        : GetProvider() == DatabaseProvider.Sqlite ? DefaultSqliteConnectionString
        : throw new InvalidOperationException(DatabaseOptionsValidator.MissingConnectionStringError);
}

internal sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public const string MissingConnectionStringError =
        $"{DatabaseOptions.ConnectionStringKey} is required when {DatabaseOptions.ProviderKey} is Postgres";

    public static string ProviderError(string? configured) =>
        $"{DatabaseOptions.ProviderKey} must be Sqlite or Postgres (was '{configured}')";

    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        if (!options.TryGetProvider(out var provider))
        {
            return ValidateOptionsResult.Fail(ProviderError(options.Provider));
        }

        if (provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail(MissingConnectionStringError);
        }

        if (options.MaxConnections is < ConnectionBudget.LeastMax or > ConnectionBudget.MostMax)
        {
            return ValidateOptionsResult.Fail(
                $"{DatabaseOptions.MaxConnectionsKey} must be between {ConnectionBudget.LeastMax} and {ConnectionBudget.MostMax} (was {options.MaxConnections})");
        }

        if (options.PoolWait <= TimeSpan.Zero || options.PoolWait > DatabaseOptions.MostPoolWait)
        {
            return ValidateOptionsResult.Fail(
                $"{DatabaseOptions.PoolWaitKey} must be more than 00:00:00 and at most {DatabaseOptions.MostPoolWait:c}, such as 00:00:02 (was {options.PoolWait:c})");
        }

        if (CheckPassword(DatabaseOptions.ConnectionStringKey, provider, options.GetConnectionString()) is { } failure)
        {
            return ValidateOptionsResult.Fail(failure);
        }

        return provider == DatabaseProvider.Postgres && !string.IsNullOrWhiteSpace(options.ListenConnectionString)
            && CheckPassword(DatabaseOptions.ListenConnectionStringKey, provider, options.ListenConnectionString) is { } listenFailure
            ? ValidateOptionsResult.Fail(listenFailure)
            : ValidateOptionsResult.Success;
    }

    private static string? CheckPassword(string key, DatabaseProvider provider, string connectionString)
    {
        string? password;
        try
        {
            password = provider == DatabaseProvider.Postgres
                ? new NpgsqlConnectionStringBuilder(connectionString).Password
                : new SqliteConnectionStringBuilder(connectionString).Password;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // Passwords are free text the builders never reject, so the message cannot echo one.
            return $"{key} is not a valid {provider} connection string: {ex.Message}";
        }

        return SecretRules.Check($"{key} (Password)", password);
    }
}
