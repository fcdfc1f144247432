using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IncidentBot.TestKit.Teams;

/// <summary>What to put in a minted Bot Framework token; the defaults make a valid one.</summary>
public sealed record TokenSpec
{
    public string Issuer { get; init; } = FakeBotFrameworkIssuer.BotFrameworkIssuer;
    public required string Audience { get; init; }
    public required string ServiceUrl { get; init; }
    public DateTimeOffset IssuedAt { get; init; } = DateTimeOffset.UtcNow;
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Which published key signs (its kid goes in the header).</summary>
    public string KeyId { get; init; } = FakeBotFrameworkIssuer.TeamsKeyId;

    /// <summary>Sign with a key nobody published, under <see cref="KeyId"/>: a forged token.</summary>
    public bool Forged { get; init; }

    public string Algorithm { get; init; } = "RS256";
}

/// <summary>
/// Microsoft's side of Bot Framework authentication, on loopback: the OpenID metadata and the JWKS (keys with
/// <c>endorsements</c>, as login.botframework.com serves them), a client-credentials token endpoint, and a
/// minter for the JWTs the Bot Connector sends with each activity. RSA keys are generated per instance.
/// </summary>
public sealed class FakeBotFrameworkIssuer : IAsyncDisposable
{
    public const string BotFrameworkIssuer = "https://api.botframework.com";
    public const string TeamsKeyId = "teams-key";
    public const string OtherChannelKeyId = "webchat-key";
    public const string IssuedTokenPrefix = "fake-bf-access-";

    private readonly ConcurrentDictionary<string, (RSA Key, string[] Endorsements)> _keys = new()
    {
        [TeamsKeyId] = (RSA.Create(2048), ["msteams", "skype"]),
        [OtherChannelKeyId] = (RSA.Create(2048), ["webchat"]),
    };

    private readonly RSA _forger = RSA.Create(2048);
    private readonly List<IReadOnlyDictionary<string, string>> _tokenRequests = [];
    private WebApplication? _app;
    private int _issued;
    private int _metadataRequests;

    public Uri BaseAddress { get; private set; } = null!;

    public string OpenIdMetadataUrl => new Uri(BaseAddress, "v1/.well-known/openidconfiguration").ToString();

    public string TokenEndpoint => new Uri(BaseAddress, "tenant-under-test/oauth2/v2.0/token").ToString();

    /// <summary>The client id and secret the token endpoint accepts.</summary>
    public string ClientId { get; init; } = "00000000-0000-0000-0000-00000000b07";

    public string ClientSecret { get; init; } = "fake-secret";

    public int MetadataRequests => Volatile.Read(ref _metadataRequests);

    /// <summary>While true, the OpenID metadata endpoint answers 500 (an outage at login.botframework.com).</summary>
    public bool FailMetadata { get; set; }

    /// <summary>Publishes a new signing key (key rotation): tokens may use it from now on.</summary>
    public void AddKey(string keyId, params string[] endorsements) => _keys[keyId] = (RSA.Create(2048), endorsements);

    public IReadOnlyList<IReadOnlyDictionary<string, string>> TokenRequests
    {
        get
        {
            lock (_tokenRequests)
            {
                return _tokenRequests.ToList();
            }
        }
    }

    /// <summary>True when <paramref name="token"/> is one this endpoint issued.</summary>
    public static bool Issued(string? token) => token is not null && token.StartsWith(IssuedTokenPrefix, StringComparison.Ordinal);

    public static async Task<FakeBotFrameworkIssuer> StartAsync()
    {
        var issuer = new FakeBotFrameworkIssuer();
        await issuer.RunAsync();
        return issuer;
    }

    private async Task RunAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapGet("/v1/.well-known/openidconfiguration", () =>
        {
            Interlocked.Increment(ref _metadataRequests);
            if (FailMetadata)
            {
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            }

            return Results.Text(new JsonObject
            {
                ["issuer"] = BotFrameworkIssuer,
                ["authorization_endpoint"] = new Uri(BaseAddress, "v1/auth").ToString(),
                ["jwks_uri"] = new Uri(BaseAddress, "v1/.well-known/keys").ToString(),
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
                ["token_endpoint_auth_methods_supported"] = new JsonArray("private_key_jwt"),
            }.ToJsonString(), "application/json");
        });
        _app.MapGet("/v1/.well-known/keys", () => Results.Text(Jwks().ToJsonString(), "application/json"));
        _app.MapPost("/{tenant}/oauth2/v2.0/token", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            var fields = form.ToDictionary(f => f.Key, f => f.Value.ToString());
            lock (_tokenRequests)
            {
                _tokenRequests.Add(fields);
            }

            if (fields.GetValueOrDefault("grant_type") != "client_credentials")
            {
                return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
            }

            if (fields.GetValueOrDefault("client_id") != ClientId || fields.GetValueOrDefault("client_secret") != ClientSecret)
            {
                return Results.Json(new { error = "invalid_client" }, statusCode: 401);
            }

            if (fields.GetValueOrDefault("scope") != "https://api.botframework.com/.default")
            {
                return Results.Json(new { error = "invalid_scope" }, statusCode: 400);
            }

            var token = IssuedTokenPrefix + Interlocked.Increment(ref _issued);
            return Results.Json(new { token_type = "Bearer", expires_in = 3600, ext_expires_in = 3600, access_token = token });
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/') + "/");
    }

    private JsonObject Jwks()
    {
        var keys = new JsonArray();
        foreach (var (kid, (rsa, endorsements)) in _keys)
        {
            var parameters = rsa.ExportParameters(false);
            keys.Add(new JsonObject
            {
                ["kty"] = "RSA",
                ["use"] = "sig",
                ["kid"] = kid,
                ["n"] = Base64Url(parameters.Modulus!),
                ["e"] = Base64Url(parameters.Exponent!),
                ["endorsements"] = new JsonArray(endorsements.Select(e => (JsonNode)JsonValue.Create(e)).ToArray()),
            });
        }

        return new JsonObject { ["keys"] = keys };
    }

    /// <summary>A compact JWS as the Bot Connector sends it (RS256 over header.payload).</summary>
    public string Mint(TokenSpec spec)
    {
        var header = new JsonObject { ["alg"] = spec.Algorithm, ["typ"] = "JWT", ["kid"] = spec.KeyId, ["x5t"] = spec.KeyId };
        var payload = new JsonObject
        {
            ["serviceurl"] = spec.ServiceUrl,
            ["nbf"] = spec.IssuedAt.ToUnixTimeSeconds(),
            ["exp"] = (spec.IssuedAt + spec.Lifetime).ToUnixTimeSeconds(),
            ["iat"] = spec.IssuedAt.ToUnixTimeSeconds(),
            ["iss"] = spec.Issuer,
            ["aud"] = spec.Audience,
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var key = spec.Forged ? _forger : _keys[spec.KeyId].Key;
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        foreach (var (key, _) in _keys.Values)
        {
            key.Dispose();
        }

        _forger.Dispose();
    }
}
