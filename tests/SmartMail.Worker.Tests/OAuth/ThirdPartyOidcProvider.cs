using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartMail.Worker.Tests.Integration;

namespace SmartMail.Worker.Tests.OAuth;

/// <summary>
/// A third-party OpenID provider nobody on the project wrote: npm's certified <c>oidc-provider</c> (tests/oidc-provider,
/// installed by <c>npm ci</c> in <c>.ci/run</c>), run by node on 127.0.0.1 over HTTPS with a CA made here per run
/// (<see cref="CaFile"/>). Per mail user it registers one client that authenticates by <c>client_secret_post</c> and one by
/// <c>private_key_jwt</c> (RS256, the certificate in a .pfx), both with the client-credentials grant; tokens are opaque and
/// checked by RFC 7662 introspection, through <see cref="IntrospectionShim"/> for the IMAP server and SMTP relay. The
/// provider can be stopped and started again on the same port (its tokens are in memory, so they die with it).
/// </summary>
public sealed class ThirdPartyOidcProvider : IAsyncDisposable
{
    private const string IntrospectorId = "imap-server";
    private readonly string _configFile;
    private readonly string _introspectorSecret;
    private readonly List<string> _output = [];
    private Process? _node;

    private ThirdPartyOidcProvider(string directory, int port, string configFile, string introspectorSecret, IReadOnlyDictionary<string, Clients> clients)
    {
        Directory = directory;
        Issuer = new Uri($"https://127.0.0.1:{port}");
        _configFile = configFile;
        _introspectorSecret = introspectorSecret;
        ClientsFor = clients;
    }

    /// <summary>The folder holding the CA, the TLS key and the client credentials (deleted on dispose).</summary>
    public string Directory { get; }

    /// <summary>The issuer: what <c>OAuth2:Authority</c> is set to.</summary>
    public Uri Issuer { get; }

    /// <summary>The PEM file of the per-run CA that signed the provider's TLS certificate (<c>OAuth2:CaCertificateFile</c>).</summary>
    public string CaFile => Path.Combine(Directory, "ca.pem");

    /// <summary>The token endpoint (the audience of a client assertion).</summary>
    public Uri TokenEndpoint => new(Issuer, "/token");

    /// <summary>The clients registered per mail user.</summary>
    public IReadOnlyDictionary<string, Clients> ClientsFor { get; }

    /// <summary>What node printed (for a failing test's message).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join("\n", _output);
            }
        }
    }

    /// <summary>Starts the provider, or skips the test when node or its packages are not installed.</summary>
    /// <param name="tokenLifetime">How long an issued token is valid.</param>
    /// <param name="usernames">The mail users to register a secret and a certificate client for.</param>
    /// <returns>The running provider.</returns>
    public static async Task<ThirdPartyOidcProvider> StartAsync(TimeSpan tokenLifetime, params string[] usernames)
    {
        var folder = PackageFolder();
        if (!File.Exists(Path.Combine(folder, "node_modules", "oidc-provider", "package.json")))
        {
            Assert.Skip($"npm's oidc-provider is not installed: run `npm ci` in {folder} (.ci/run does) for the third-party OpenID provider tests.");
        }
        var directory = System.IO.Directory.CreateTempSubdirectory("smartmail-op-").FullName;
        var port = Dovecot.FreePort();
        WriteTls(directory);
        var clients = new Dictionary<string, Clients>(StringComparer.Ordinal);
        var registered = new JsonArray();
        foreach (var username in usernames)
        {
            var secretId = "secret-" + Guid.NewGuid().ToString("N")[..12];
            var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            var secretFile = Path.Combine(directory, secretId + ".secret");
            await File.WriteAllTextAsync(secretFile, secret);
            registered.Add(new JsonObject { ["client_id"] = secretId, ["client_secret"] = secret, ["username"] = username });
            var keyId = "cert-" + Guid.NewGuid().ToString("N")[..12];
            var (pfx, passwordFile, jwk) = WriteClientCertificate(directory, keyId);
            registered.Add(new JsonObject { ["client_id"] = keyId, ["jwk"] = jwk, ["username"] = username });
            clients[username] = new Clients(secretId, secret, secretFile, keyId, pfx, passwordFile);
        }
        var introspectorSecret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var config = new JsonObject
        {
            ["port"] = port,
            ["certFile"] = Path.Combine(directory, "server.pem"),
            ["keyFile"] = Path.Combine(directory, "server.key"),
            ["tokenLifetime"] = (int)Math.Ceiling(tokenLifetime.TotalSeconds),
            ["clients"] = registered,
            ["introspector"] = new JsonObject { ["client_id"] = IntrospectorId, ["client_secret"] = introspectorSecret },
        };
        var configFile = Path.Combine(directory, "config.json");
        await File.WriteAllTextAsync(configFile, config.ToJsonString());
        var provider = new ThirdPartyOidcProvider(directory, port, configFile, introspectorSecret, clients);
        await provider.StartAgainAsync();
        return provider;
    }

    /// <summary>Starts node again on the same port (after <see cref="StopAsync"/>).</summary>
    /// <returns>A task that ends when the provider serves.</returns>
    public async Task StartAgainAsync()
    {
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var node = new Process
        {
            StartInfo = new ProcessStartInfo("node", [Path.Combine(PackageFolder(), "server.mjs"), _configFile])
            {
                WorkingDirectory = PackageFolder(),
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            },
        };
        void Collect(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.Add(line);
            }
            if (line.StartsWith("listening ", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }
        node.OutputDataReceived += (_, e) => Collect(e.Data);
        node.ErrorDataReceived += (_, e) => Collect(e.Data);
        node.EnableRaisingEvents = true;
        node.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"node exited before it served:\n{Output}"));
        node.Start();
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        _node = node;
        await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Stops the provider (its port is closed; every token it issued is forgotten).</summary>
    /// <returns>A task.</returns>
    public async Task StopAsync()
    {
        if (_node is not { } node)
        {
            return;
        }
        _node = null;
        if (!node.HasExited)
        {
            node.Kill(entireProcessTree: true);
        }
        await node.WaitForExitAsync();
        node.Dispose();
    }

    /// <summary>An HTTP client that trusts the per-run CA and nothing else.</summary>
    /// <returns>The client.</returns>
    public HttpClient NewTrustingClient() => LocalOidcAuthority.TrustingClient(CaFile);

    /// <summary>The provider's RFC 7662 introspection of <paramref name="token"/>, as the IMAP server's client.</summary>
    /// <param name="http">A client from <see cref="NewTrustingClient"/>.</param>
    /// <param name="token">The access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The provider's answer (HTTP status and JSON body).</returns>
    public async Task<(HttpStatusCode Status, string Body)> IntrospectAsync(HttpClient http, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var response = await http.SendAsync(AsIntrospector(new Uri(Issuer, "/token/introspection"), token), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Revokes <paramref name="token"/> at the provider (RFC 7009): introspection answers it inactive from now on.</summary>
    /// <param name="http">A client from <see cref="NewTrustingClient"/>.</param>
    /// <param name="token">The access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    public async Task RevokeAsync(HttpClient http, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var response = await http.SendAsync(AsIntrospector(new Uri(Issuer, "/token/revocation"), token), cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }

    private HttpRequestMessage AsIntrospector(Uri endpoint, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent([new("token", token)]) };
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{IntrospectorId}:{_introspectorSecret}")));
        return request;
    }

    /// <summary>tests/oidc-provider: package.json, package-lock.json and server.mjs (node_modules after <c>npm ci</c>).</summary>
    private static string PackageFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "oidc-provider");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException($"tests/oidc-provider not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>A per-run CA and a TLS certificate for 127.0.0.1 it signed, as PEM files node's https server reads.</summary>
    private static void WriteTls(string directory)
    {
        var (ca, server) = LocalOidcAuthority.IssueTls("CN=SmartMail test third-party OP CA");
        using (ca)
        using (server)
        using (var key = server.GetRSAPrivateKey())
        {
            File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.pem"), server.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.key"), key!.ExportPkcs8PrivateKeyPem()); // the server certificate is issued with its key
        }
    }

    /// <summary>A client certificate in a password-protected .pfx (and the password file), and its public key as a JWK.</summary>
    private static (string Pfx, string PasswordFile, JsonObject Jwk) WriteClientCertificate(string directory, string clientId)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={clientId}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var pfx = Path.Combine(directory, clientId + ".pfx");
        var passwordFile = Path.Combine(directory, clientId + ".pfx.password");
        File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, password));
        File.WriteAllText(passwordFile, password + "\n");
        var parameters = key.ExportParameters(false);
        var jwk = new JsonObject
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["n"] = Base64Url(parameters.Modulus!),
            ["e"] = Base64Url(parameters.Exponent!),
            ["x5c"] = new JsonArray(Convert.ToBase64String(certificate.RawData)),
        };
        return (pfx, passwordFile, jwk);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The two clients of one mail user.</summary>
    /// <param name="SecretClientId">The client that authenticates by <c>client_secret_post</c>.</param>
    /// <param name="Secret">Its secret (for leak checks).</param>
    /// <param name="SecretFile">A file holding the secret (<c>OAuth2:ClientSecretFile</c>).</param>
    /// <param name="CertificateClientId">The client that authenticates by <c>private_key_jwt</c>.</param>
    /// <param name="PfxFile">Its certificate and key (<c>OAuth2:CertificateFile</c>).</param>
    /// <param name="PasswordFile">The .pfx password (<c>OAuth2:CertificatePasswordFile</c>).</param>
    public sealed record Clients(string SecretClientId, string Secret, string SecretFile, string CertificateClientId, string PfxFile, string PasswordFile);
}
