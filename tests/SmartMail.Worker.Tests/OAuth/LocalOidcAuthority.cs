using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// A real, small OpenID Connect authority on 127.0.0.1 over HTTPS, with a throwaway CA (written to <see cref="CaFile"/>) that
/// tests trust: discovery, a client-credentials token endpoint (client secret or a certificate's signed client assertion)
/// issuing short-lived opaque tokens, and the RFC 7662 introspection endpoint Dovecot calls to check a bearer token. MSAL
/// talks to it as to any OIDC provider. Clients can be revoked while tokens are out, and every request is counted.
/// </summary>
public sealed partial class LocalOidcAuthority : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Client> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string ClientId, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _introspected = new();
    private int _tokenRequests;
    private int _refusedTokenRequests;
    private int _introspections;

    private LocalOidcAuthority(WebApplication app, string directory)
    {
        _app = app;
        Directory = directory;
    }

    /// <summary>The folder holding the CA file and client certificates.</summary>
    public string Directory { get; }

    /// <summary>The issuer (the authority a client is configured with).</summary>
    public Uri Issuer { get; private set; } = null!;

    /// <summary>The PEM file of the CA that signed the authority's TLS certificate.</summary>
    public string CaFile => Path.Combine(Directory, "oidc-ca.pem");

    /// <summary>The introspection endpoint, for Dovecot's <c>introspection_url</c>.</summary>
    public Uri IntrospectionEndpoint => new(Issuer + "/introspect");

    /// <summary>The introspection endpoint on the plain-HTTP loopback back channel, for a Dovecot that does not trust the test CA.</summary>
    public Uri BackChannelIntrospectionEndpoint { get; private set; } = null!;

    /// <summary>The token endpoint.</summary>
    public Uri TokenEndpoint => new(Issuer + "/token");

    /// <summary>How long an issued token is valid.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Token requests answered so far (issued or refused).</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>Token requests refused so far.</summary>
    public int RefusedTokenRequests => Volatile.Read(ref _refusedTokenRequests);

    /// <summary>Every access token issued so far (for checks that none reaches a log).</summary>
    public IReadOnlyCollection<string> IssuedTokens => [.. _tokens.Keys];

    /// <summary>Every token that was introspected, in order.</summary>
    public IReadOnlyList<string> Introspected => [.. _introspected];

    /// <summary>Introspection requests answered so far.</summary>
    public int Introspections => Volatile.Read(ref _introspections);

    /// <summary>Starts an authority on a free loopback port.</summary>
    /// <param name="realm">The issuer's path, like Keycloak's <c>/realms/NAME</c>.</param>
    /// <returns>The running authority.</returns>
    public static async Task<LocalOidcAuthority> StartAsync(string realm = "/realms/smartmail")
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("smartmail-oidc-").FullName;
        var (ca, serverCertificate) = IssueTls("CN=SmartMail test OIDC CA");
        using (ca)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "oidc-ca.pem"), ca.ExportCertificatePem());
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(serverCertificate));
            k.Listen(IPAddress.Loopback, 0); // the back channel Dovecot introspects on (loopback only)
        });
        var app = builder.Build();
        var authority = new LocalOidcAuthority(app, directory);
        authority.Map(realm);
        await app.StartAsync();
        var urls = app.Urls.Select(u => new Uri(u)).ToList();
        authority.Issuer = new Uri($"https://127.0.0.1:{urls.Single(u => u.Scheme == "https").Port}{realm}");
        authority.BackChannelIntrospectionEndpoint = new Uri($"http://127.0.0.1:{urls.Single(u => u.Scheme == "http").Port}{realm}/introspect");
        return authority;
    }

    /// <summary>Registers a client that signs in with a secret.</summary>
    /// <param name="username">The mailbox user its tokens are for (what introspection answers).</param>
    /// <returns>The client id and its secret.</returns>
    public (string ClientId, string Secret) AddSecretClient(string username)
    {
        var id = Guid.NewGuid().ToString();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        _clients[id] = new Client(username, secret, null);
        return (id, secret);
    }

    /// <summary>Registers a client that signs in with a certificate (a signed client assertion).</summary>
    /// <param name="username">The mailbox user its tokens are for.</param>
    /// <param name="notAfter">When the certificate expires.</param>
    /// <param name="password">The PFX file's password.</param>
    /// <returns>The client id and the path of a PFX file with the certificate and its key.</returns>
    public (string ClientId, string PfxFile) AddCertificateClient(string username, DateTimeOffset? notAfter = null, string? password = null)
    {
        var id = Guid.NewGuid().ToString();
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN=smartmail-client-{id[..8]}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), notAfter ?? DateTimeOffset.UtcNow.AddDays(1));
        var pfx = Path.Combine(Directory, $"client-{id}.pfx");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, password));
        _clients[id] = new Client(username, null, X509CertificateLoader.LoadCertificate(certificate.RawData));
        return (id, pfx);
    }

    /// <summary>An HTTP client that trusts this authority's CA (and nothing else), as Dovecot or a test caller would be set up.</summary>
    /// <returns>The client.</returns>
    public HttpClient NewTrustingClient() => TrustingClient(CaFile);

    /// <summary>An HTTP client that trusts the CA in <paramref name="caFile"/> and nothing else.</summary>
    internal static HttpClient TrustingClient(string caFile)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(caFile));
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A throwaway CA and a TLS server certificate for 127.0.0.1 and localhost it signed, with its key.</summary>
    internal static (X509Certificate2 Ca, X509Certificate2 Server) IssueTls(string caName)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest(caName, caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(8));
        // Kestrel needs the key with the certificate, in a form the platform can use: round-trip through PKCS#12.
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        return (ca, X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable));
    }

    /// <summary>Makes <paramref name="token"/> an active token for <paramref name="username"/> for an hour, without a client
    /// asking for it (for tests of the server's introspection alone).</summary>
    /// <param name="username">The mailbox user introspection answers.</param>
    /// <param name="token">The token.</param>
    /// <returns><paramref name="token"/>.</returns>
    public string IssueToken(string username, string token)
    {
        var client = "direct:" + token;
        _clients[client] = new Client(username, null, null);
        _tokens[token] = (client, DateTimeOffset.UtcNow.AddHours(1));
        return token;
    }

    /// <summary>Withdraws one token: introspection answers it inactive from now on.</summary>
    /// <param name="token">The token.</param>
    public void RevokeToken(string token) => _tokens.TryRemove(token, out _);

    /// <summary>Revokes a client: no new tokens, and its tokens are no longer active.</summary>
    /// <param name="clientId">The client.</param>
    public void Revoke(string clientId) => _clients[clientId] = _clients[clientId] with { Revoked = true };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    private void Map(string realm)
    {
        _app.MapGet(realm + "/.well-known/openid-configuration", () => Results.Json(WithInteractive(new JsonObject
        {
            ["issuer"] = Issuer.ToString(),
            ["token_endpoint"] = TokenEndpoint.ToString(),
            ["introspection_endpoint"] = IntrospectionEndpoint.ToString(),
            ["authorization_endpoint"] = Issuer + "/authorize",
            ["jwks_uri"] = Issuer + "/jwks",
            ["grant_types_supported"] = new JsonArray("client_credentials"),
            ["token_endpoint_auth_methods_supported"] = new JsonArray("client_secret_post", "client_secret_basic", "private_key_jwt"),
            ["response_types_supported"] = new JsonArray("code"),
            ["subject_types_supported"] = new JsonArray("public"),
            ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
        })));
        MapInteractive(realm);
        _app.MapPost(realm + "/token", TokenAsync);
        _app.MapPost(realm + "/introspect", IntrospectAsync);
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        Interlocked.Increment(ref _tokenRequests);
        var form = await request.ReadFormAsync();
        var (clientId, secret) = BasicCredentials(request) ?? (form["client_id"].ToString(), form["client_secret"].ToString());
        if (form["grant_type"] == "authorization_code")
        {
            return CodeToken(form, clientId, secret);
        }
        if (form["grant_type"] != "client_credentials")
        {
            return Refuse("unsupported_grant_type", "only client_credentials");
        }
        if (!_clients.TryGetValue(clientId, out var client) || client.Revoked)
        {
            return Refuse("invalid_client", "unknown or disabled client");
        }
        var authenticated = client.Secret is not null
            ? !string.IsNullOrEmpty(secret) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(client.Secret))
            : client.Certificate is not null && form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
              && ValidAssertion(form["client_assertion"].ToString(), clientId, client.Certificate);
        if (!authenticated)
        {
            return Refuse("invalid_client", "client authentication failed");
        }
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        _tokens[token] = (clientId, DateTimeOffset.UtcNow + TokenLifetime);
        return Results.Json(new JsonObject
        {
            ["access_token"] = token,
            ["token_type"] = "Bearer",
            ["expires_in"] = (int)Math.Ceiling(TokenLifetime.TotalSeconds),
        });
    }

    private IResult Refuse(string error, string description)
    {
        Interlocked.Increment(ref _refusedTokenRequests);
        return Results.Json(new JsonObject { ["error"] = error, ["error_description"] = description }, statusCode: 401);
    }

    private async Task<IResult> IntrospectAsync(HttpRequest request)
    {
        Interlocked.Increment(ref _introspections);
        var form = await request.ReadFormAsync();
        var token = form["token"].ToString();
        _introspected.Enqueue(token);
        if (_tokens.TryGetValue(token, out var issued) && issued.Expires > DateTimeOffset.UtcNow
            && _clients.TryGetValue(issued.ClientId, out var client) && !client.Revoked)
        {
            return Results.Json(new JsonObject
            {
                ["active"] = true,
                ["username"] = client.Username,
                ["client_id"] = issued.ClientId,
                ["exp"] = issued.Expires.ToUnixTimeSeconds(),
            });
        }
        return Results.Json(new JsonObject { ["active"] = false });
    }

    private static (string, string)? BasicCredentials(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? null : (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]));
    }

    private bool ValidAssertion(string assertion, string clientId, X509Certificate2 certificate)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }
        using var header = JsonDocument.Parse(Base64Url(parts[0]));
        using var payload = JsonDocument.Parse(Base64Url(parts[1]));
        var alg = header.RootElement.GetProperty("alg").GetString();
        using var key = certificate.GetRSAPublicKey()!;
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        var signature = Base64Url(parts[2]);
        var valid = alg switch
        {
            "RS256" => key.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            "PS256" => key.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            _ => false,
        };
        var claims = payload.RootElement;
        var audience = claims.GetProperty("aud").GetString();
        var expClaim = claims.GetProperty("exp"); // MSAL writes it as a string
        var exp = DateTimeOffset.FromUnixTimeSeconds(expClaim.ValueKind == JsonValueKind.String
            ? long.Parse(expClaim.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : expClaim.GetInt64());
        return valid && claims.GetProperty("iss").GetString() == clientId && claims.GetProperty("sub").GetString() == clientId
            && (audience == TokenEndpoint.ToString() || audience == Issuer.ToString()) && exp > DateTimeOffset.UtcNow;
    }

    private static byte[] Base64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    private sealed record Client(string Username, string? Secret, X509Certificate2? Certificate, bool Revoked = false);
}
