using System.Net;
using IncidentBot.Core.Security;

namespace IncidentBot.Core.Tests;

public sealed class SecurityRulesTests
{
    [Theory]
    [InlineData("<from environment>")]
    [InlineData("<long random string>")]
    [InlineData("<xoxb-… from environment>")]
    [InlineData("xoxb-...")]
    [InlineData("changeme")]
    [InlineData("ChangeMe123")]
    [InlineData("${SLACK_SIGNING_SECRET}")]
    [InlineData("{{ secret }}")]
    public void SecretRules_PlaceholderValue_Refused(string value) =>
        Assert.Equal("Slack:SigningSecret holds a placeholder, not a secret (set the real value from the environment)", SecretRules.Check("Slack:SigningSecret", value));

    [Fact]
    public void SecretRules_ShortToken_RefusedNamingTheKey()
    {
        var failure = SecretRules.Check("Api:Tokens:0", "abc123", SecretRules.MinimumTokenLength);
        Assert.NotNull(failure);
        Assert.StartsWith("Api:Tokens:0 must be at least 24 characters", failure);
    }

    [Theory]
    [InlineData("8f14e45fceea167a5a36dedd4bea2543")]
    [InlineData("xoxb-1234-5678-abcdefABCDEF")]
    [InlineData("")]
    [InlineData(null)]
    public void SecretRules_RealOrUnsetValue_Accepted(string? value) => Assert.Null(SecretRules.Check("Key", value, SecretRules.MinimumTokenLength));

    [Theory]
    [InlineData("127.0.0.1", null, true)]
    [InlineData("::1", null, true)]
    [InlineData("127.0.0.1", "X-Forwarded-For", false)]
    [InlineData("127.0.0.1", "Forwarded", false)]
    [InlineData("127.0.0.1", "X-Real-IP", false)]
    [InlineData("127.0.0.1", "X-Original-For", false)]
    [InlineData("203.0.113.9", null, false)]
    public void DirectCaller_IsDirectLoopback(string remote, string? header, bool expected) =>
        Assert.Equal(expected, DirectCaller.IsDirectLoopback(IPAddress.Parse(remote), name => string.Equals(name, header, StringComparison.OrdinalIgnoreCase)));

    [Fact]
    public void DirectCaller_NoPeerAddress_NotDirect() => Assert.False(DirectCaller.IsDirectLoopback(null, _ => false));

    [Fact]
    public void FailureLimiter_BlocksAfterTooManyFailures_OnlyThatClient()
    {
        using var limiter = new FailureLimiter();
        for (var i = 0; i < FailureLimiter.FailuresPerWindow; i++)
        {
            Assert.False(limiter.IsBlocked("203.0.113.9"));
            limiter.RecordFailure("203.0.113.9");
        }

        Assert.True(limiter.IsBlocked("203.0.113.9"));
        Assert.False(limiter.IsBlocked("198.51.100.1"));
    }
}

public sealed class BoundedBodyTests
{
    [Fact]
    public async Task ReadAsync_WithinLimit_ReturnsWholeBody()
    {
        using var body = new MemoryStream(new byte[1000]);
        Assert.Equal(1000, (await BoundedBody.ReadAsync(body, 1000, default))!.Length);
    }

    [Fact]
    public async Task ReadAsync_OverLimit_ReturnsNullWithoutReadingTheRest()
    {
        using var body = new MemoryStream(new byte[10 * 1024 * 1024]);

        Assert.Null(await BoundedBody.ReadAsync(body, 64 * 1024, default));
        Assert.True(body.Position <= 64 * 1024 + 16 * 1024, $"read {body.Position} bytes of a body refused at 64 KB");
    }

    [Fact]
    public async Task ReadAsync_DeclaredLength_ReturnsExactlyTheBody()
    {
        var sent = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        using var body = new TrickleStream(sent, 700);

        Assert.Equal(sent, await BoundedBody.ReadAsync(body, sent.Length, 64 * 1024, default));
    }

    [Fact]
    public async Task ReadAsync_MoreThanDeclared_TheRestCountsAgainstTheLimit()
    {
        using var within = new MemoryStream(new byte[5000]);
        Assert.Equal(5000, (await BoundedBody.ReadAsync(within, 100, 64 * 1024, default))!.Length);

        using var over = new MemoryStream(new byte[10 * 1024 * 1024]);
        Assert.Null(await BoundedBody.ReadAsync(over, 100, 64 * 1024, default));
        Assert.True(over.Position <= 64 * 1024 + 16 * 1024, $"read {over.Position} bytes of a body refused at 64 KB");
    }

    [Fact]
    public async Task ReadAsync_DeclaredOverTheLimit_ReadsNoMoreThanTheLimit()
    {
        using var body = new MemoryStream(new byte[10 * 1024 * 1024]);

        Assert.Null(await BoundedBody.ReadAsync(body, body.Length, 64 * 1024, default));
        Assert.True(body.Position <= 64 * 1024 + 16 * 1024, $"read {body.Position} bytes of a body refused at 64 KB");
    }

    /// <summary>Hands out at most a few bytes per read, as a socket does.</summary>
    private sealed class TrickleStream(byte[] data, int perRead) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, perRead)], cancellationToken);
    }
}
