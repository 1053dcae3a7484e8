using System.Globalization;
using System.Security.Cryptography;
using SmartMail.Worker.Auth;
using SmartMail.Worker.Imap;
using SmartMail.Worker.Tests.Integration;
using SmartMail.Worker.Tests.OAuth;

namespace SmartMail.Worker.Tests.Exchange;

/// <summary>How the app proves its identity to the authority.</summary>
public enum ExchangeCredential
{
    /// <summary>A certificate in a password-protected PFX file (the documented recommendation).</summary>
    Certificate,

    /// <summary>A client secret in a file.</summary>
    Secret,
}

/// <summary>
/// "Exchange Online" for a test: a real Dovecot on the Exchange Online profile (Exchange's capability list without CONDSTORE
/// or QRESYNC, "/" as separator, Sent Items, Deleted Items, Junk Email, Drafts, Archive) that accepts only tokens its
/// introspection call finds active, and a real local OpenID Connect authority over HTTPS that issues those tokens to one app
/// registered for the mailbox user (client credentials with a certificate or a secret). SmartMail's side of it is
/// <see cref="Options"/> (in-process) or <see cref="WorkerSettings"/> (a worker process): Authentication = OAuth2, and no
/// password. The test's own checks still sign in with the user's password (<see cref="Dovecot.ClientAsync"/>), as an
/// administrator's tool would.
/// </summary>
public sealed class ExchangeOnline : IAsyncDisposable
{
    private ExchangeOnline(LocalOidcAuthority authority, Dovecot dovecot, string clientId, string credentialFile, string? pfxPasswordFile)
    {
        Authority = authority;
        Dovecot = dovecot;
        ClientId = clientId;
        CredentialFile = credentialFile;
        PfxPasswordFile = pfxPasswordFile;
    }

    /// <summary>The token authority (its CA in <see cref="LocalOidcAuthority.CaFile"/>).</summary>
    public LocalOidcAuthority Authority { get; }

    /// <summary>The mail server on the Exchange Online profile.</summary>
    public Dovecot Dovecot { get; }

    /// <summary>The app's client id.</summary>
    public string ClientId { get; }

    /// <summary>The PFX file (certificate) or the secret file.</summary>
    public string CredentialFile { get; }

    /// <summary>The file with the PFX's password (certificate only).</summary>
    public string? PfxPasswordFile { get; }

    /// <summary>Whether the app signs in with a certificate.</summary>
    public bool UsesCertificate => PfxPasswordFile is not null;

    /// <summary>The separator Exchange Online uses between folder names.</summary>
    public const char Separator = '/';

    /// <summary>Starts the authority and the server, and registers one app for the mailbox user.</summary>
    /// <param name="credential">How the app signs in.</param>
    /// <param name="tls">Also serve IMAPS (with the server's throwaway CA, <see cref="Dovecot.CaFile"/>), as Exchange Online does on 993.</param>
    /// <param name="tokenLifetime">How long each token lives (short, so that tokens expire and are renewed during a test).</param>
    public static async Task<ExchangeOnline> StartAsync(ExchangeCredential credential = ExchangeCredential.Certificate, bool tls = false,
        TimeSpan? tokenLifetime = null)
    {
        var authority = await LocalOidcAuthority.StartAsync();
        Dovecot? dovecot = null;
        try
        {
            authority.TokenLifetime = tokenLifetime ?? TimeSpan.FromSeconds(20);
            dovecot = await Dovecot.StartAsync(tls: tls, profile: DovecotProfile.ExchangeOnline, oauth2IntrospectionUrl: authority.BackChannelIntrospectionEndpoint);
            if (credential == ExchangeCredential.Certificate)
            {
                var password = RandomNumberGenerator.GetHexString(16, lowercase: true);
                var passwordFile = Path.Combine(authority.Directory, "pfx-password");
                await File.WriteAllTextAsync(passwordFile, password + "\n");
                var (clientId, pfx) = authority.AddCertificateClient(dovecot.User, password: password);
                return new ExchangeOnline(authority, dovecot, clientId, pfx, passwordFile);
            }
            var (id, secret) = authority.AddSecretClient(dovecot.User);
            var secretFile = Path.Combine(authority.Directory, "client-secret");
            await File.WriteAllTextAsync(secretFile, secret + "\n");
            return new ExchangeOnline(authority, dovecot, id, secretFile, null);
        }
        catch
        {
            if (dovecot is not null)
            {
                await dovecot.DisposeAsync();
            }
            await authority.DisposeAsync();
            throw;
        }
    }

    /// <summary>The mailbox's options for an in-process <see cref="ImapMailbox"/>: the server's plain port, OAuth2, no password.</summary>
    public ImapMailboxOptions Options(string name = "exchange")
    {
        var options = Dovecot.Options(name);
        options.Password = null;
        options.Authentication = "OAuth2";
        options.OAuth2 = new OAuth2Options
        {
            Authority = Authority.Issuer,
            ClientId = ClientId,
            CaCertificateFile = Authority.CaFile,
            Scopes = ["imap"],
        };
        if (UsesCertificate)
        {
            options.OAuth2.CertificateFile = CredentialFile;
            options.OAuth2.CertificatePasswordFile = PfxPasswordFile;
        }
        else
        {
            options.OAuth2.ClientSecretFile = CredentialFile;
        }
        return options;
    }

    /// <summary>
    /// Settings under <c>SmartMail:</c> (environment form) that turn <see cref="WorkerProcess"/>'s mailbox 0 into this Exchange
    /// mailbox signing in with OAuth2: its password is blanked, so a password sign-in would fail.
    /// </summary>
    public Dictionary<string, string> WorkerSettings(IReadOnlyDictionary<string, string>? more = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Mailboxes__0__Password"] = "",
            ["Mailboxes__0__Authentication"] = "OAuth2",
            ["Mailboxes__0__OAuth2__Authority"] = Authority.Issuer.AbsoluteUri,
            ["Mailboxes__0__OAuth2__ClientId"] = ClientId,
            ["Mailboxes__0__OAuth2__CaCertificateFile"] = Authority.CaFile,
            ["Mailboxes__0__OAuth2__Scopes__0"] = "imap",
        };
        if (UsesCertificate)
        {
            settings["Mailboxes__0__OAuth2__CertificateFile"] = CredentialFile;
            settings["Mailboxes__0__OAuth2__CertificatePasswordFile"] = PfxPasswordFile!; // set with a certificate
        }
        else
        {
            settings["Mailboxes__0__OAuth2__ClientSecretFile"] = CredentialFile;
        }
        foreach (var (key, value) in more ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>How many sign-ins of the mailbox user the server accepted by XOAUTH2 or OAUTHBEARER, and by password.</summary>
    public (int OAuth2, int Password) Logins()
    {
        var log = Dovecot.Log();
        int Count(string method) => log.Split('\n').Count(l => l.Contains("Login: user=<" + Dovecot.User + ">", StringComparison.Ordinal)
            && l.Contains("method=" + method, StringComparison.OrdinalIgnoreCase));
        return (Count("XOAUTH2") + Count("OAUTHBEARER"), Count("PLAIN") + Count("LOGIN"));
    }

    /// <summary>A line for the test output: tokens issued and sign-ins seen.</summary>
    public string Summary()
    {
        var (oauth2, password) = Logins();
        return string.Create(CultureInfo.InvariantCulture,
            $"authority: {Authority.TokenRequests} token requests ({Authority.RefusedTokenRequests} refused), {Authority.Introspections} introspections; " +
            $"server: {oauth2} OAuth2 sign-ins, {password} password sign-ins (the test's own checks)");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Dovecot.DisposeAsync();
        await Authority.DisposeAsync();
    }
}
