using System.Xml.Linq;
using IncidentBot.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace IncidentBot.Hosting;

/// <summary>
/// Data protection's key ring in the bot's database, so a cookie issued by one instance opens on every other one
/// and after a restart. Keys are stored as written (the database is the secret to guard, like its connection string).
/// </summary>
internal sealed class DatabaseXmlRepository(DataProtectionKeyStore keys) : IXmlRepository
{
    // IXmlRepository is synchronous; the key manager calls it rarely (start, key roll-over, a day's refresh).
    public IReadOnlyCollection<XElement> GetAllElements() =>
        keys.ListAsync(CancellationToken.None).GetAwaiter().GetResult().Select(xml => XElement.Parse(xml)).ToList();

    public void StoreElement(XElement element, string friendlyName) =>
        keys.AddAsync(friendlyName, element.ToString(SaveOptions.DisableFormatting), CancellationToken.None).GetAwaiter().GetResult();
}

internal static class DataProtectionSetup
{
    /// <summary>One application name and one key ring (in the database) for every instance.</summary>
    public static IHostApplicationBuilder AddSharedDataProtection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDataProtection().SetApplicationName("IncidentBot");
        builder.Services.AddSingleton<DatabaseXmlRepository>();
        builder.Services.AddOptions<KeyManagementOptions>()
            .Configure<DatabaseXmlRepository>((options, repository) => options.XmlRepository = repository);
        return builder;
    }
}
