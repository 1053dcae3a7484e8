namespace SmartMail.Worker.Auth;

/// <summary>
/// OAuth2 client-credentials (app-only) sign-in of one mailbox or SMTP relay: Entra ID (Microsoft 365) by default, or any
/// OpenID Connect authority (e.g. Keycloak in front of Dovecot). The token goes to the server by SASL XOAUTH2 (or
/// OAUTHBEARER where XOAUTH2 is not offered).
/// </summary>
public sealed class OAuth2Options
{
    /// <summary>The Entra ID instance an authority is built on when only <see cref="TenantId"/> is set.</summary>
    public const string EntraIdInstance = "https://login.microsoftonline.com/";

    /// <summary>The scope of IMAP and SMTP in Exchange Online (with the app permissions IMAP.AccessAsApp and SMTP.SendAsApp).</summary>
    public const string ExchangeOnlineScope = "https://outlook.office365.com/.default";

    /// <summary>
    /// The token authority: an Entra ID authority (<c>https://login.microsoftonline.com/&lt;tenant&gt;</c>) or the issuer of any
    /// other OpenID Connect provider (its <c>/.well-known/openid-configuration</c> is read).
    /// </summary>
    /// <value>The default is <see cref="EntraIdInstance"/> followed by <see cref="TenantId"/>.</value>
    public Uri? Authority { get; set; }

    /// <summary>The Entra ID tenant (directory) id or its domain, e.g. <c>norddjurs.onmicrosoft.com</c>.</summary>
    public string? TenantId { get; set; }

    /// <summary>The application (client) id of the app registration.</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>A file holding the client secret (e.g. a systemd credential under <c>$CREDENTIALS_DIRECTORY</c>).</summary>
    public string? ClientSecretFile { get; set; }

    /// <summary>The client secret, from the environment only (<c>SMARTMAIL_SmartMail__Mailboxes__0__OAuth2__ClientSecret</c>); prefer a certificate.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>A PKCS#12 (.pfx) file with the app's certificate and private key: the recommended credential.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>A file holding the password of <see cref="CertificateFile"/>, when it has one.</summary>
    public string? CertificatePasswordFile { get; set; }

    /// <summary>The thumbprint of the app's certificate in the certificate store (<c>My</c> of the current user, then of the machine).</summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>The scopes asked for.</summary>
    /// <value>The default is Exchange Online's, <see cref="ExchangeOnlineScope"/>.</value>
    public List<string> Scopes { get; set; } = [];

    /// <summary>A PEM file with the CA that signs the authority's TLS certificate, when it is not in the system store (an on-premises provider).</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>The rules a start-up check applies; every message names the setting under <paramref name="prefix"/>.</summary>
    /// <param name="prefix">The settings path, e.g. <c>SmartMail:Mailboxes:0:OAuth2</c>.</param>
    /// <returns>The failures, none when the settings can sign in.</returns>
    public IEnumerable<string> Validate(string prefix)
    {
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            yield return $"{prefix}:ClientId: set the Application (client) ID of the app registration.";
        }
        if (Authority is null && string.IsNullOrWhiteSpace(TenantId))
        {
            yield return $"{prefix}:TenantId: set the Entra ID tenant (or Authority for another OpenID Connect provider).";
        }
        if (Authority is { } authority && authority.Scheme != Uri.UriSchemeHttps)
        {
            yield return $"{prefix}:Authority: must be an https:// issuer.";
        }
        var credentials = new[] { CertificateFile, CertificateThumbprint, ClientSecretFile, ClientSecret }.Count(c => !string.IsNullOrEmpty(c));
        if (credentials == 0)
        {
            yield return $"{prefix}:CertificateFile: set CertificateFile or CertificateThumbprint (recommended), or ClientSecretFile.";
        }
        else if (credentials > 1)
        {
            yield return $"{prefix}: set one credential only: CertificateFile, CertificateThumbprint, ClientSecretFile or ClientSecret.";
        }
        foreach (var (name, file) in new[] { ("CertificateFile", CertificateFile), ("CertificatePasswordFile", CertificatePasswordFile),
                     ("ClientSecretFile", ClientSecretFile), ("CaCertificateFile", CaCertificateFile) })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                yield return $"{prefix}:{name}: '{file}' does not exist.";
            }
        }
    }

    /// <summary>The authority in force: <see cref="Authority"/>, else Entra ID with <see cref="TenantId"/>.</summary>
    /// <returns>The authority, or <see langword="null"/> when neither is set.</returns>
    public Uri? EffectiveAuthority() =>
        Authority ?? (string.IsNullOrWhiteSpace(TenantId) ? null : new Uri(EntraIdInstance + Uri.EscapeDataString(TenantId.Trim())));

    /// <summary>The scopes in force.</summary>
    /// <returns><see cref="Scopes"/>, or Exchange Online's scope when none is set.</returns>
    public IReadOnlyList<string> EffectiveScopes() => Scopes.Count > 0 ? Scopes : [ExchangeOnlineScope];

    /// <summary>Whether <paramref name="authority"/> is Microsoft's (Entra ID in any national cloud), which MSAL treats as such.</summary>
    /// <param name="authority">The authority.</param>
    /// <returns><see langword="true"/> for Entra ID.</returns>
    public static bool IsEntraId(Uri authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        return authority.Host.ToUpperInvariant() is "LOGIN.MICROSOFTONLINE.COM" or "LOGIN.MICROSOFTONLINE.US" or "LOGIN.CHINACLOUDAPI.CN"
            or "LOGIN.PARTNER.MICROSOFTONLINE.CN" or "LOGIN.MICROSOFT.COM";
    }
}
