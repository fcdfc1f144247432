using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IncidentBot.Storage.Tests;

/// <summary>Bad <c>Retention:*</c> settings fail start-up with a message naming the key.</summary>
public sealed class RetentionOptionsTests
{
    [Theory]
    [InlineData("Retention:Age", "01:00:00", "Retention:Age must be at least 1.00:00:00")]
    [InlineData("Retention:ReceiptAge", "12:00:00", "Retention:ReceiptAge must be at least 1.01:00:00")]
    [InlineData("Retention:Interval", "00:00:10", "Retention:Interval must be between 00:01:00 and 1.00:00:00")]
    [InlineData("Retention:BatchSize", "0", "Retention:BatchSize must be between 10 and 100000")]
    public void RetentionOptions_Invalid_FailNamingTheKey(string key, string value, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.AddStorage();
        using var provider = builder.Services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(
            () => provider.GetRequiredService<IOptions<RetentionOptions>>().Value);

        Assert.Contains(failure.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void RetentionOptions_Defaults_AreValid()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.AddStorage();
        using var provider = builder.Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RetentionOptions>>().Value;

        Assert.Equal((TimeSpan.FromDays(30), TimeSpan.FromDays(2), 1000), (options.Age, options.ReceiptAge, options.BatchSize));
    }
}
