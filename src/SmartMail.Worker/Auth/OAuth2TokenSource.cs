using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Identity.Client;

namespace SmartMail.Worker.Auth;

/// <summary>
/// Gets app-only access tokens for one mailbox (or SMTP relay) by the OAuth2 client-credentials flow through MSAL: from
/// Entra ID, or from any OpenID Connect authority. MSAL caches the token and renews it before it expires; a reconnect after
/// a refused token asks with <c>forceRefresh</c>. Refusals that a retry cannot fix become <see cref="SignInRefusedException"/>
/// with a message naming the cause and the fix; the token and the secret are never part of a message.
/// </summary>
public sealed class OAuth2TokenSource : IDisposable
{
    private readonly IConfidentialClientApplication _app;
    private readonly IReadOnlyList<string> _scopes;
    private readonly string _setting;
    private readonly HttpClient? _http;
    private readonly X509Certificate2? _certificate;

    /// <summary>Creates the token source.</summary>
    /// <param name="options">The sign-in settings.</param>
    /// <param name="setting">The settings path, for messages (e.g. <c>SmartMail:Mailboxes:0:OAuth2</c>).</param>
    /// <param name="time">The clock that decides whether the certificate has expired.</param>
    /// <exception cref="SignInRefusedException">The settings cannot sign in (no credential, an expired or unreadable certificate).</exception>
    public OAuth2TokenSource(OAuth2Options options, string setting, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _setting = setting;
        _scopes = options.EffectiveScopes();
        var authority = options.EffectiveAuthority()
            ?? throw new SignInRefusedException($"{setting}:TenantId: set the Entra ID tenant, or Authority for another OpenID Connect provider.");
        var builder = ConfidentialClientApplicationBuilder.Create(options.ClientId);
        builder = OAuth2Options.IsEntraId(authority)
            ? builder.WithAuthority(authority.AbsoluteUri)
            : builder.WithOidcAuthority(authority.AbsoluteUri.TrimEnd('/'));
        if (options.CaCertificateFile is { Length: > 0 } caFile)
        {
            _http = TrustingClient(caFile);
            builder = builder.WithHttpClientFactory(new FixedHttpClientFactory(_http));
        }
        _certificate = LoadCertificate(options, setting, time ?? TimeProvider.System);
        if (_certificate is not null)
        {
            builder = builder.WithCertificate(_certificate, sendX5C: false);
        }
        else
        {
            builder = builder.WithClientSecret(ResolveSecret(options, setting));
        }
        _app = builder.Build();
    }

    /// <summary>Gets a token: the cached one while it is fresh, else a new one.</summary>
    /// <param name="forceRefresh">Ask the authority even when a cached token looks fresh (the server refused it).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The access token and when it expires.</returns>
    /// <exception cref="SignInRefusedException">The authority refused the client for good.</exception>
    /// <exception cref="HttpRequestException">The authority could not be reached (transient).</exception>
    public async Task<(string AccessToken, DateTimeOffset ExpiresOn)> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _app.AcquireTokenForClient(_scopes).WithForceRefresh(forceRefresh)
                .ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return (result.AccessToken, result.ExpiresOn);
        }
        catch (MsalServiceException ex) when (Refusal(ex) is { } why)
        {
            throw new SignInRefusedException($"{_setting}: {why}", ex);
        }
        catch (MsalServiceException ex) when (ex.StatusCode is >= 500 or 429 or 0)
        {
            throw new HttpRequestException($"{_setting}: the token authority is unavailable ({ex.StatusCode} {ex.ErrorCode}); retrying.", ex,
                ex.StatusCode == 0 ? null : (HttpStatusCode)ex.StatusCode);
        }
        catch (MsalServiceException ex)
        {
            throw new SignInRefusedException($"{_setting}: the token authority refused the client ({ex.ErrorCode}, HTTP {ex.StatusCode}); check ClientId, the credential and the scopes.", ex);
        }
        catch (MsalClientException ex) when (ex.ErrorCode is "invalid_authority" or "authority_validation_failed" or "invalid_authority_type")
        {
            throw new SignInRefusedException($"{_setting}:Authority: '{ex.ErrorCode}': the authority is not an OpenID Connect issuer MSAL can use ({ex.Message}).", ex);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http?.Dispose();
        _certificate?.Dispose();
    }

    /// <summary>Why a refusal cannot be fixed by a retry, in words for municipal IT; <see langword="null"/> when it may be transient.</summary>
    /// <param name="ex">What the authority said.</param>
    /// <returns>The cause and the fix, or <see langword="null"/>.</returns>
    internal static string? Refusal(MsalServiceException ex)
    {
        var text = ex.Message ?? string.Empty;
        bool Says(string code) => text.Contains(code, StringComparison.Ordinal) || (ex.ResponseBody?.Contains(code, StringComparison.Ordinal) ?? false);
        if (Says("AADSTS7000222"))
        {
            return "the client secret has expired: make a new one in Entra ID (App registrations > Certificates & secrets) and write it to ClientSecretFile, or better, use a certificate.";
        }
        if (Says("AADSTS7000215"))
        {
            return "the client secret is wrong: copy the secret's Value (not its ID) from Entra ID (App registrations > Certificates & secrets) into ClientSecretFile.";
        }
        if (Says("AADSTS700027") || Says("AADSTS700024") || Says("AADSTS7000274"))
        {
            return "the certificate is not accepted: upload its public part (.cer) to the app registration (Certificates & secrets) and check that CertificateFile/CertificateThumbprint name that certificate.";
        }
        if (Says("AADSTS700016"))
        {
            return "no app with this ClientId in the tenant: check ClientId and TenantId against the app registration's Overview page.";
        }
        if (Says("AADSTS90002") || Says("AADSTS90023"))
        {
            return "the tenant was not found: check TenantId (the Directory (tenant) ID or the onmicrosoft.com domain).";
        }
        if (Says("AADSTS65001") || Says("consent_required"))
        {
            return "admin consent is missing: in Entra ID, App registrations > API permissions, grant admin consent for Office 365 Exchange Online IMAP.AccessAsApp (and SMTP.SendAsApp).";
        }
        if (Says("AADSTS500011"))
        {
            return "the resource in Scopes is not in this tenant: use https://outlook.office365.com/.default for Exchange Online.";
        }
        if (Says("AADSTS70011") || ex.ErrorCode == "invalid_scope")
        {
            return "the scope is not valid for app-only sign-in: use a '/.default' scope (https://outlook.office365.com/.default for Exchange Online).";
        }
        if (Says("AADSTS7000112") || Says("AADSTS700025"))
        {
            return "the app is disabled or not allowed this flow: enable the app registration and its service principal in Entra ID.";
        }
        return ex.ErrorCode switch
        {
            "invalid_client" => "the token authority refused the client credential (invalid_client): check ClientId and the secret or certificate, and that the client is enabled at the authority.",
            "unauthorized_client" => "the client is not allowed the client-credentials grant (unauthorized_client): enable service accounts/app-only access for it at the authority.",
            "access_denied" => "the token authority denied access (access_denied): check the app's permissions and consent.",
            _ => null,
        };
    }

    private static string ResolveSecret(OAuth2Options options, string setting)
    {
        if (options.ClientSecretFile is { Length: > 0 } file)
        {
            try
            {
                var secret = File.ReadAllText(file).Trim();
                return secret.Length > 0 ? secret : throw new SignInRefusedException($"{setting}:ClientSecretFile: '{file}' is empty.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new SignInRefusedException($"{setting}:ClientSecretFile: '{file}' cannot be read ({ex.GetType().Name}).", ex);
            }
        }
        return string.IsNullOrEmpty(options.ClientSecret)
            ? throw new SignInRefusedException($"{setting}: set CertificateFile or CertificateThumbprint (recommended), or ClientSecretFile.")
            : options.ClientSecret;
    }

    private static X509Certificate2? LoadCertificate(OAuth2Options options, string setting, TimeProvider time)
    {
        X509Certificate2? certificate = null;
        if (options.CertificateFile is { Length: > 0 } file)
        {
            try
            {
                var password = options.CertificatePasswordFile is { Length: > 0 } pf ? File.ReadAllText(pf).TrimEnd('\r', '\n') : null;
                certificate = X509CertificateLoader.LoadPkcs12FromFile(file, password);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new SignInRefusedException(
                    $"{setting}:CertificateFile: '{file}' cannot be read as a PKCS#12 (.pfx) file with its private key ({ex.GetType().Name}); check the file and CertificatePasswordFile.", ex);
            }
            if (!certificate.HasPrivateKey)
            {
                certificate.Dispose();
                throw new SignInRefusedException($"{setting}:CertificateFile: '{file}' has no private key: export the certificate with its key (.pfx).");
            }
        }
        else if (options.CertificateThumbprint is { Length: > 0 } thumbprint)
        {
            certificate = FromStore(thumbprint.Replace(" ", string.Empty, StringComparison.Ordinal))
                ?? throw new SignInRefusedException(
                    $"{setting}:CertificateThumbprint: no certificate with a private key and thumbprint {thumbprint} in the My store of the current user or the machine.");
        }
        if (certificate is not null)
        {
            var now = time.GetUtcNow();
            if (certificate.NotAfter.ToUniversalTime() < now.UtcDateTime)
            {
                var expired = certificate.NotAfter.ToUniversalTime();
                certificate.Dispose();
                throw new SignInRefusedException(
                    $"{setting}: the certificate expired on {expired:yyyy-MM-dd}: make a new one, upload its public part to the app registration and point CertificateFile/CertificateThumbprint at it.");
            }
            if (certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
            {
                certificate.Dispose();
                throw new SignInRefusedException($"{setting}: the certificate is not valid before {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd}; check the machine's clock.");
            }
        }
        return certificate;
    }

    private static X509Certificate2? FromStore(string thumbprint)
    {
        foreach (var location in new[] { StoreLocation.CurrentUser, StoreLocation.LocalMachine })
        {
            try
            {
                using var store = new X509Store(StoreName.My, location);
                store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
                var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
                var match = found.FirstOrDefault(c => c.HasPrivateKey);
                foreach (var other in found.Where(c => !ReferenceEquals(c, match)))
                {
                    other.Dispose();
                }
                if (match is not null)
                {
                    return match;
                }
            }
            catch (CryptographicException)
            {
                // This store does not exist on this machine (e.g. LocalMachine\My on Linux): look in the next one.
            }
        }
        return null;
    }

    private static HttpClient TrustingClient(string caFile)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.Add(ca);
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    private sealed class FixedHttpClientFactory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}
