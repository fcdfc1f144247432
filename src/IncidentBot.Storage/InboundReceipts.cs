using Dapper;

namespace IncidentBot.Storage;

/// <summary>
/// One inbound request already acted on: its <paramref name="Source"/> (which front-end took it in, one name each) and
/// the key that source redelivers it under.
/// </summary>
public readonly record struct InboundReceipt(string Source, string Key)
{
    /// <summary>A receipt keyed by several parts (a conversation and an activity in it); no part contains a line break.</summary>
    public static InboundReceipt Of(string source, params string[] parts) => new(source, string.Join('\n', parts));
}

/// <summary>
/// The inbound requests every front-end has acted on, in one table (<c>inbound_receipts</c>), so a redelivery (a Slack
/// retry, a Teams redelivery, a pager's replay) has no second effect. Each front-end names its source and how long its
/// receipts are kept (<see cref="RetentionFor"/>), for the one retention pruner.
/// </summary>
public sealed class InboundReceipts(IDbConnectionFactory database, TimeProvider time)
{
    public async Task<bool> HasAsync(InboundReceipt receipt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM inbound_receipts WHERE source = @Source AND receipt_key = @Key", receipt, cancellationToken: cancellationToken)) > 0;
    }

    /// <summary>Records <paramref name="receipt"/>; false when it was recorded before (a redelivery).</summary>
    public async Task<bool> TryRecordAsync(InboundReceipt receipt, CancellationToken cancellationToken)
    {
        const string sql = """
            INSERT INTO inbound_receipts (source, receipt_key, received_at) VALUES (@Source, @Key, @Now)
            ON CONFLICT (source, receipt_key) DO NOTHING
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            sql, new { receipt.Source, receipt.Key, Now = time.GetUtcNow() }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>Forgets a request whose handling failed, so its redelivery is acted on.</summary>
    public async Task ForgetAsync(InboundReceipt receipt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM inbound_receipts WHERE source = @Source AND receipt_key = @Key", receipt, cancellationToken: cancellationToken));
    }

    /// <summary>How the retention pruner ages out <paramref name="source"/>'s receipts (reported as <c>inbound_receipts:source</c>).</summary>
    public static RetentionRule RetentionFor(string source, RetentionAge age)
    {
        if (source.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '-'))
        {
            throw new ArgumentException($"A receipt source is letters, digits and dashes, not '{source}'.", nameof(source));
        }

        return new RetentionRule($"inbound_receipts:{source}", age, $"""
            DELETE FROM inbound_receipts WHERE source = '{source}' AND receipt_key IN (
                SELECT receipt_key FROM inbound_receipts WHERE source = '{source}' AND received_at < @Before LIMIT @Batch)
            """);
    }
}
