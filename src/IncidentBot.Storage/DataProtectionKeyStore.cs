using Dapper;

namespace IncidentBot.Storage;

/// <summary>
/// The rows behind ASP.NET Core data protection's key ring (<c>data_protection_keys</c>): every instance on this
/// database reads and adds the same keys. The host adapts it to data protection's <c>IXmlRepository</c>.
/// </summary>
public sealed class DataProtectionKeyStore(IDbConnectionFactory database, TimeProvider time)
{
    static DataProtectionKeyStore() => TypeHandlers.EnsureRegistered();

    /// <summary>Every stored key as the XML the key manager wrote, oldest first.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<string>(new CommandDefinition(ListSql, cancellationToken: cancellationToken))).AsList();
    }

    private const string ListSql = "SELECT xml FROM data_protection_keys ORDER BY created_at, name";

    /// <summary>Adds a key; a name already stored keeps its first XML (names are unique key ids).</summary>
    public async Task AddAsync(string name, string xml, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(AddSql, new { Name = name, Xml = xml, CreatedAt = time.GetUtcNow() }, cancellationToken: cancellationToken));
    }

    private const string AddSql = """
        INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@Name, @Xml, @CreatedAt)
        ON CONFLICT (name) DO NOTHING
        """;
}
