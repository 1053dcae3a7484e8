using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Identity.Client;
using SmartMail.Worker.Security;

namespace SmartMail.Worker.Auth;

/// <summary>
/// Gets app-only access tokens for one mailbox (or SMTP relay) by the OAuth2 client-credentials flow through MSAL: from
/// Entra ID, or from any OpenID Connect authority. The client authenticates by secret (<c>client_secret_post</c>) or by a
/// certificate's signed assertion (<see cref="ClientAssertion"/>, <c>private_key_jwt</c>). MSAL caches the token and renews
/// it before it expires (a token valid for less than 5 minutes is fetched for each connection); connections that ask at the
/// same moment share one request; a reconnect after a refused token asks with <c>forceRefresh</c>. Refusals that a retry
/// cannot fix become <see cref="SignInRefusedException"/>, an authority that cannot be reached
/// <see cref="TokenAuthorityUnavailableException"/>, each one line naming the setting or party at fault; the token and the
/// secret are never part of a message.
/// </summary>
public sealed class OAuth2TokenSource : IDisposable
{
    private readonly IConfidentialClientApplication _app;
    private readonly IReadOnlyList<string> _scopes;
    private readonly string _setting;
    private readonly Uri _authority;
    private readonly string _credential;
    private readonly string? _caFile;
    private readonly HttpClient _http;
    private readonly X509Certificate2? _certificate;
    private readonly Lock _gate = new();
    private Task<(string AccessToken, DateTimeOffset ExpiresOn)>? _pending;
    private string? _tlsRefusal;

    /// <summary>Creates the token source.</summary>
    /// <param name="options">The sign-in settings.</param>
    /// <param name="setting">The settings path of <paramref name="options"/>, for messages (e.g. <c>SmartMail:Smtp:OAuth2</c>, or
    /// <c>OAuth2</c> under a mailbox whose name the caller adds).</param>
    /// <param name="time">The clock that decides whether the certificate has expired and dates the client assertion.</param>
    /// <exception cref="SignInRefusedException">The settings cannot sign in (no credential, an expired or unreadable certificate).</exception>
    public OAuth2TokenSource(OAuth2Options options, string setting, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _setting = setting;
        _scopes = options.EffectiveScopes();
        time ??= TimeProvider.System;
        _authority = options.EffectiveAuthority()
            ?? throw new SignInRefusedException($"{setting}:TenantId: set the Entra ID tenant, or Authority for another OpenID Connect provider.");
        IsEntraId = OAuth2Options.IsEntraId(_authority);
        var builder = ConfidentialClientApplicationBuilder.Create(options.ClientId);
        builder = IsEntraId
            ? builder.WithAuthority(_authority.AbsoluteUri)
            : builder.WithOidcAuthority(_authority.AbsoluteUri.TrimEnd('/'));
        // Always our own client: the authority's TLS certificate is checked by the project's one trust rule, and a refusal
        // is reported with its reason (the chain status), not taken for an outage.
        _caFile = options.CaCertificateFile is { Length: > 0 } caFile ? caFile : null;
        var ca = _caFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(_caFile);
        _http = new HttpClient(TrustedCa.HttpHandler(ca, reason => _tlsRefusal = reason)) { Timeout = TimeSpan.FromSeconds(60) };
        builder = builder.WithHttpClientFactory(new FixedHttpClientFactory(_http));
        _certificate = LoadCertificate(options, setting, time);
        if (_certificate is { } certificate)
        {
            var clientId = options.ClientId;
            // A fresh assertion per token request (MSAL's own WithCertificate writes nbf/exp as strings, which RFC 7519 providers refuse).
            Func<AssertionRequestOptions, Task<string>> assertion = request =>
                Task.FromResult(ClientAssertion.Create(certificate, clientId, request.TokenEndpoint, time.GetUtcNow()));
            builder = builder.WithClientAssertion(assertion);
            _credential = options.CertificateFile is { Length: > 0 } ? "CertificateFile" : "CertificateThumbprint";
        }
        else
        {
            builder = builder.WithClientSecret(ResolveSecret(options, setting));
            _credential = options.ClientSecretFile is { Length: > 0 } ? "ClientSecretFile" : "ClientSecret";
        }
        _app = builder.Build();
    }

    /// <summary>Whether the authority is Microsoft's Entra ID (refusal hints then name Exchange Online's fixes).</summary>
    public bool IsEntraId { get; }

    /// <summary>Gets a token: the cached one while it is fresh, else a new one. Callers that ask at the same moment share one request.</summary>
    /// <param name="forceRefresh">Ask the authority even when a cached token looks fresh (the server refused it).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The access token and when it expires.</returns>
    /// <exception cref="SignInRefusedException">The authority refused the client for good, or its TLS certificate is not trusted.</exception>
    /// <exception cref="TokenAuthorityUnavailableException">The authority could not be reached or failed (transient).</exception>
    public Task<(string AccessToken, DateTimeOffset ExpiresOn)> GetTokenAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        if (forceRefresh)
        {
            return AcquireAsync(forceRefresh: true, cancellationToken);
        }
        lock (_gate)
        {
            if (_pending is not { IsCompleted: false })
            {
                // Not cancelled by one caller's token: another may be waiting for the same answer (the HTTP time-out bounds it).
                _pending = AcquireAsync(forceRefresh: false, CancellationToken.None);
            }
            return _pending.WaitAsync(cancellationToken);
        }
    }

    private async Task<(string AccessToken, DateTimeOffset ExpiresOn)> AcquireAsync(bool forceRefresh, CancellationToken cancellationToken)
    {
        _tlsRefusal = null;
        try
        {
            var result = await _app.AcquireTokenForClient(_scopes).WithForceRefresh(forceRefresh)
                .ExecuteAsync(cancellationToken).ConfigureAwait(false);
            return (result.AccessToken, result.ExpiresOn);
        }
        catch (Exception ex) when (Untrusted(ex) is { } refused)
        {
            throw refused;
        }
        catch (MsalServiceException ex) when (ex.StatusCode == 404 || (IsDiscovery(ex) && ex.StatusCode is >= 400 and < 500 and not 429))
        {
            throw new SignInRefusedException(
                $"{_setting}:Authority: {Discovery()} answered HTTP {ex.StatusCode}: set Authority to the provider's issuer (the URL before /.well-known/openid-configuration, e.g. https://sso.kommune.dk/realms/NAME).", ex);
        }
        catch (MsalServiceException ex) when (Refusal(ex, IsEntraId) is { } why)
        {
            throw new SignInRefusedException($"{_setting}{why}", ex);
        }
        catch (MsalServiceException ex) when (ex.StatusCode is >= 500 or 429 or 0)
        {
            throw Unavailable(ex, ex.StatusCode == 0 ? null : (HttpStatusCode)ex.StatusCode);
        }
        catch (MsalServiceException ex)
        {
            throw new SignInRefusedException(
                $"{_setting}: the token authority {_authority.GetLeftPart(UriPartial.Authority)} refused the client ({ex.ErrorCode}, HTTP {ex.StatusCode}): check ClientId, {_credential} and Scopes.", ex);
        }
        catch (MsalClientException ex) when (ex.ErrorCode is "invalid_authority" or "authority_validation_failed" or "invalid_authority_type")
        {
            throw new SignInRefusedException($"{_setting}:Authority: '{ex.ErrorCode}': the authority is not an OpenID Connect issuer MSAL can use ({ex.Message}).", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(ex, (ex as HttpRequestException)?.StatusCode);
        }
    }

    private string Discovery() => _authority.AbsoluteUri.TrimEnd('/') + "/.well-known/openid-configuration";

    private static bool IsDiscovery(MsalServiceException ex) =>
        ex.Message.Contains("OIDC configuration", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("openid-configuration", StringComparison.Ordinal);

    // The authority's TLS certificate was refused: a setting to fix, not an outage to wait out.
    private SignInRefusedException? Untrusted(Exception ex)
    {
        var tls = Inner<System.Security.Authentication.AuthenticationException>(ex);
        if (tls is null && _tlsRefusal is null)
        {
            return null;
        }
        var reason = _tlsRefusal ?? tls!.Message;
        var host = _authority.GetLeftPart(UriPartial.Authority);
        return new SignInRefusedException(_caFile is null
            ? $"{_setting}:CaCertificateFile: the token authority {host} presented a TLS certificate this machine does not trust ({reason}): set CaCertificateFile to the PEM file of the CA that signed it, or install that CA in the system store."
            : $"{_setting}:CaCertificateFile: the token authority {host} presented a TLS certificate that the CA in '{_caFile}' does not vouch for ({reason}): set CaCertificateFile to the PEM file of the CA that signed it, and check that Authority names the provider's host.", ex);
    }

    private TokenAuthorityUnavailableException Unavailable(Exception ex, HttpStatusCode? status)
    {
        var cause = status is { } code ? $"HTTP {(int)code}" : Innermost(ex).Message.ReplaceLineEndings(" ").Trim();
        return new TokenAuthorityUnavailableException(
            $"{_setting}:Authority: the token authority {_authority.GetLeftPart(UriPartial.Authority)} cannot be reached or failed ({cause}); retrying.", ex, status);
    }

    private static T? Inner<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }
        return null;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner)
        {
            ex = inner;
        }
        return ex;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _certificate?.Dispose();
    }

    /// <summary>Why a refusal cannot be fixed by a retry, in words for municipal IT; <see langword="null"/> when it may be transient.</summary>
    /// <param name="ex">What the authority said.</param>
    /// <param name="entraId">Whether the authority is Entra ID (its AADSTS codes and portal names apply).</param>
    /// <returns>The cause and the fix after the settings path (starting with <c>:Setting: </c> or <c>: </c>), or <see langword="null"/>.</returns>
    internal string? Refusal(MsalServiceException ex, bool entraId)
    {
        var text = ex.Message ?? string.Empty;
        bool Says(string code) => text.Contains(code, StringComparison.Ordinal) || (ex.ResponseBody?.Contains(code, StringComparison.Ordinal) ?? false);
        if (Says("AADSTS7000222"))
        {
            return ": the client secret has expired: make a new one in Entra ID (App registrations > Certificates & secrets) and write it to ClientSecretFile, or better, use a certificate.";
        }
        if (Says("AADSTS7000215"))
        {
            return ": the client secret is wrong: copy the secret's Value (not its ID) from Entra ID (App registrations > Certificates & secrets) into ClientSecretFile.";
        }
        if (Says("AADSTS700027") || Says("AADSTS700024") || Says("AADSTS7000274"))
        {
            return ": the certificate is not accepted: upload its public part (.cer) to the app registration (Certificates & secrets) and check that CertificateFile/CertificateThumbprint name that certificate.";
        }
        if (Says("AADSTS700016"))
        {
            return ": no app with this ClientId in the tenant: check ClientId and TenantId against the app registration's Overview page.";
        }
        if (Says("AADSTS90002") || Says("AADSTS90023"))
        {
            return ": the tenant was not found: check TenantId (the Directory (tenant) ID or the onmicrosoft.com domain).";
        }
        if (Says("AADSTS65001") || Says("consent_required"))
        {
            return ": admin consent is missing: in Entra ID, App registrations > API permissions, grant admin consent for Office 365 Exchange Online IMAP.AccessAsApp (and SMTP.SendAsApp).";
        }
        if (Says("AADSTS500011"))
        {
            return ": the resource in Scopes is not in this tenant: use https://outlook.office365.com/.default for Exchange Online.";
        }
        if (Says("AADSTS70011") || (entraId && ex.ErrorCode == "invalid_scope"))
        {
            return ": the scope is not valid for app-only sign-in: use a '/.default' scope (https://outlook.office365.com/.default for Exchange Online).";
        }
        if (Says("AADSTS7000112") || Says("AADSTS700025"))
        {
            return ": the app is disabled or not allowed this flow: enable the app registration and its service principal in Entra ID.";
        }
        var provider = _authority.GetLeftPart(UriPartial.Authority);
        var method = _certificate is null ? "client_secret_post" : "private_key_jwt (RS256)";
        var description = ex.ResponseBody is { Length: > 0 } body && Description(body) is { } d ? $": {d}" : "";
        return ex.ErrorCode switch
        {
            "invalid_client" => $":{_credential}: the token authority {provider} refused the client's credential (invalid_client{description}): check ClientId and {_credential} against the client registered there"
                + (entraId ? "." : $", which must allow the client_credentials grant and authenticate by {method}."),
            "unauthorized_client" => $":ClientId: the client is not allowed the client-credentials grant (unauthorized_client{description}): enable service accounts/app-only access for it at {provider}.",
            "invalid_scope" => $":Scopes: the token authority {provider} refused the scopes (invalid_scope{description}): list in Scopes only scopes the client is allowed there.",
            "access_denied" => $": the token authority {provider} denied access (access_denied{description}): check the app's permissions and consent.",
            _ => null,
        };
    }

    // The provider's error_description (e.g. oidc-provider's "invalid nbf value"), one line; never a secret (it is not echoed).
    private static string? Description(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error_description", out var d) && d.GetString() is { Length: > 0 } text
                ? text.ReplaceLineEndings(" ")[..Math.Min(text.Length, 200)]
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
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

    private sealed class FixedHttpClientFactory(HttpClient client) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => client;
    }
}
