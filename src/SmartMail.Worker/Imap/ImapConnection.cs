using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Imap;
using System.Runtime.CompilerServices;
using MailKit.Security;
using SmartMail.Worker.Auth;

namespace SmartMail.Worker.Imap;

/// <summary>
/// Makes and connects the IMAP clients of a mailbox (work, IDLE, lease, corrections, history): the command time-out, TLS
/// with the system store or a configured CA (never "accept all"), and authentication. Settings are checked before the
/// network is touched, so a configuration error is a <see cref="MailboxConfigurationException"/>, never an outage.
/// </summary>
internal static class ImapConnection
{
    /// <summary>A client for one connection of a mailbox: its time-out and trusted CA.</summary>
    /// <param name="options">The mailbox.</param>
    /// <returns>The client, not yet connected.</returns>
    /// <exception cref="MailboxConfigurationException">The CA certificate file cannot be read.</exception>
    public static ImapClient NewClient(ImapMailboxOptions options)
    {
        RemoteCertificateValidationCallback validator;
        try
        {
            validator = CertificateValidator(options.CaCertificateFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new MailboxConfigurationException(options.Name, "CaCertificateFile",
                $"the CA certificate '{options.CaCertificateFile}' cannot be read ({ex.GetType().Name}).", ex);
        }
        // The transcript only tells the sign-in whether the server answered NO [UNAVAILABLE] (a transient token check).
        return new(new SignInTranscript())
        {
            Timeout = (int)options.CommandTimeout.TotalMilliseconds,
            ServerCertificateValidationCallback = validator,
        };
    }

    /// <summary>Connects and authenticates <paramref name="client"/> as <paramref name="options"/> say.</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The settings.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task.</returns>
    /// <exception cref="MailboxConfigurationException">A setting is wrong (no password, an unreadable password file, plaintext not allowed).</exception>
    /// <exception cref="AuthenticationException">The credentials were refused.</exception>
    public static async Task ConnectAsync(ImapClient client, ImapMailboxOptions options, CancellationToken cancellationToken)
    {
        // The settings first: a configuration error is found before the network is touched, and is never taken for an outage.
        var security = options.Security switch
        {
            "StartTls" => SecureSocketOptions.StartTls,
            "None" when options.AllowPlaintext => SecureSocketOptions.None,
            "None" => throw new MailboxConfigurationException(options.Name, "AllowPlaintext", "Security None needs AllowPlaintext=true."),
            _ => SecureSocketOptions.SslOnConnect,
        };
        var tokens = options.UsesOAuth2 ? TokenSource(options) : null;
        var password = tokens is null ? Password(options) : null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.CommandTimeout);
        await client.ConnectAsync(options.Host, options.Port, security, timeout.Token).ConfigureAwait(false);
        // The messages name the setting under the mailbox ("OAuth2:..."); whoever reports them names the mailbox once.
        await MailSignIn.AuthenticateAsync(client, options.Username, password is null ? null : () => password, tokens,
            "OAuth2", timeout.Token).ConfigureAwait(false);
    }

    // One token source per mailbox settings object, so every connection of the mailbox shares MSAL's token cache.
    private static readonly ConditionalWeakTable<ImapMailboxOptions, OAuth2TokenSource> TokenSources = [];

    private static OAuth2TokenSource TokenSource(ImapMailboxOptions options) =>
        TokenSources.GetValue(options, o => new OAuth2TokenSource(o.OAuth2, "OAuth2"));

    private static string Password(ImapMailboxOptions options)
    {
        try
        {
            return options.ResolvePassword();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MailboxConfigurationException(options.Name, "PasswordFile", $"the password file '{options.PasswordFile}' cannot be read ({ex.GetType().Name}).", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new MailboxConfigurationException(options.Name, "Password", "set PasswordFile or Password (from the environment).", ex);
        }
    }

    // Trust the system store, or a configured CA (a municipality's own, or a test CA): never "accept all".
    private static RemoteCertificateValidationCallback CertificateValidator(string? caFile) =>
        Security.TrustedCa.Validator(caFile is null ? null : X509CertificateLoader.LoadCertificateFromFile(caFile));
}
