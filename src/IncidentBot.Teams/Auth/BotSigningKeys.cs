using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace IncidentBot.Teams.Auth;

/// <summary>
/// The Bot Framework signing keys and their endorsements, from the OpenID metadata at <c>Teams:OpenIdMetadataUrl</c>:
/// cached, refreshed, fetched again for a key we do not know (but not too often), and kept through an outage.
/// </summary>
public sealed partial class BotSigningKeys : IDisposable
{
    // Bot Framework: refresh the keys at least every 24 hours, since new keys can appear at any time.
    private static readonly TimeSpan MetadataLifetime = TimeSpan.FromHours(12);

    // A token signed with a key we do not know fetches the keys again, but not more often than this, so
    // made-up key ids cannot turn every request into a metadata download.
    private static readonly TimeSpan MinForcedRefreshInterval = TimeSpan.FromMinutes(1);

    // After a failed refresh the last good keys stay in use and the next attempt waits this long, doubling up to MaxRetryDelay.
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromHours(1);

    private readonly string _metadataUrl;
    private readonly TimeProvider _time;
    private readonly ILogger<BotSigningKeys> _logger;
    private readonly HttpDocumentRetriever _retriever;
    private readonly SemaphoreSlim _metadataGate = new(1, 1);
    private OpenIdConnectConfiguration? _metadata;
    private DateTimeOffset _fetchedAt;
    private DateTimeOffset _forcedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _retryAt = DateTimeOffset.MinValue;
    private int _failedRefreshes;

    public BotSigningKeys(IOptions<TeamsOptions> options, IHttpClientFactory httpClients, TimeProvider time, ILogger<BotSigningKeys> logger)
    {
        _metadataUrl = options.Value.OpenIdMetadataUrl;
        _time = time;
        _logger = logger;
        _retriever = new HttpDocumentRetriever(httpClients.CreateClient(nameof(BotSigningKeys)))
        {
            // The options validator allows plain http only for loopback (test fakes).
            RequireHttps = !new Uri(_metadataUrl).IsLoopback,
        };
    }

    /// <summary>The metadata holding <paramref name="keyId"/> if it can be had; throws when no keys could ever be loaded.</summary>
    public async Task<OpenIdConnectConfiguration> GetAsync(string? keyId, CancellationToken cancellationToken)
    {
        var metadata = await GetMetadataAsync(force: false, cancellationToken);
        return !string.IsNullOrEmpty(keyId) && !HasKey(metadata, keyId)
            ? await GetMetadataAsync(force: true, cancellationToken)
            : metadata;
    }

    /// <summary>
    /// The OpenID metadata with its keys (and their endorsements), cached. A failed refresh keeps the cached keys and
    /// waits before the next attempt (1 minute, doubling up to an hour), so an outage is not hit on every request.
    /// </summary>
    private async Task<OpenIdConnectConfiguration> GetMetadataAsync(bool force, CancellationToken cancellationToken)
    {
        if (IsFresh(force, out var cached))
        {
            return cached;
        }

        await _metadataGate.WaitAsync(cancellationToken);
        try
        {
            if (IsFresh(force, out cached))
            {
                return cached;
            }

            var now = _time.GetUtcNow();
            try
            {
                var metadata = await OpenIdConnectConfigurationRetriever.GetAsync(_metadataUrl, _retriever, cancellationToken);
                _metadata = metadata;
                _fetchedAt = now;
                _failedRefreshes = 0;
                _retryAt = DateTimeOffset.MinValue;
                if (force)
                {
                    _forcedAt = now;
                }

                return metadata;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && _metadata is not null)
            {
                var wait = TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(_failedRefreshes, 16)));
                _failedRefreshes++;
                _retryAt = now + wait;
                _forcedAt = now;
                LogRefreshFailed(_logger, wait, ex);
                return _metadata;
            }
        }
        finally
        {
            _metadataGate.Release();
        }
    }

    private bool IsFresh(bool force, out OpenIdConnectConfiguration metadata)
    {
        metadata = _metadata!;
        if (_metadata is null)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (now < _retryAt)
        {
            return true;
        }

        return force ? now - _forcedAt < MinForcedRefreshInterval : now - _fetchedAt < MetadataLifetime;
    }

    private static bool HasKey(OpenIdConnectConfiguration metadata, string keyId) =>
        metadata.JsonWebKeySet?.Keys.Any(k => string.Equals(k.KeyId, keyId, StringComparison.Ordinal)) == true;

    public void Dispose() => _metadataGate.Dispose();

    /// <summary>Whether the signing key may speak for <paramref name="channelId"/> (its <c>endorsements</c>).</summary>
    public static bool IsEndorsed(OpenIdConnectConfiguration metadata, string? keyId, string? channelId)
    {
        if (string.IsNullOrEmpty(channelId))
        {
            // Bot Framework treats an activity without a channel as endorsed; Teams always sends "msteams".
            return true;
        }

        var key = metadata.JsonWebKeySet?.Keys.FirstOrDefault(k => string.Equals(k.KeyId, keyId, StringComparison.Ordinal));
        if (key is null || !key.AdditionalData.TryGetValue("endorsements", out var raw))
        {
            return false;
        }

        return raw switch
        {
            JsonElement { ValueKind: JsonValueKind.Array } array => array.EnumerateArray()
                .Any(e => e.ValueKind == JsonValueKind.String && string.Equals(e.GetString(), channelId, StringComparison.OrdinalIgnoreCase)),
            IEnumerable<object> list => list.Any(e => string.Equals(e?.ToString(), channelId, StringComparison.OrdinalIgnoreCase)),
            _ => false,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Teams: refreshing the Bot Framework OpenID metadata failed; keeping the cached keys and trying again in {Wait}")]
    private static partial void LogRefreshFailed(ILogger logger, TimeSpan wait, Exception exception);
}
