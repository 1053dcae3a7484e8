using MailKit;
using MailKit.Security;

namespace SmartMail.Worker.Auth;

/// <summary>
/// Signs a connected IMAP or SMTP client in: with a password, or with an OAuth2 access token by SASL XOAUTH2 (Exchange
/// Online), or OAUTHBEARER (RFC 7628) where only that is offered. A refused token is retried once with a fresh one (it may
/// have expired or been revoked since it was cached); a second refusal is for good.
/// </summary>
public static class MailSignIn
{
    /// <summary>Authenticates <paramref name="client"/>.</summary>
    /// <param name="client">A connected IMAP or SMTP client.</param>
    /// <param name="username">The mailbox (user principal name) to act as.</param>
    /// <param name="password">Gives the password, when signing in with one.</param>
    /// <param name="tokens">The token source, when signing in with OAuth2.</param>
    /// <param name="setting">The settings path of this mailbox or relay, for messages.</param>
    /// <param name="cancellationToken">Cancels the sign-in.</param>
    /// <returns>A task.</returns>
    /// <exception cref="SignInRefusedException">The sign-in is refused for a reason a retry cannot fix.</exception>
    /// <exception cref="AuthenticationException">The password was refused.</exception>
    public static async Task AuthenticateAsync(IMailService client, string username, Func<string>? password, OAuth2TokenSource? tokens,
        string setting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (tokens is null)
        {
            ArgumentNullException.ThrowIfNull(password);
            await client.AuthenticateAsync(username, password(), cancellationToken).ConfigureAwait(false);
            return;
        }
        var mechanism = Mechanism(client, setting);
        for (var attempt = 0; ; attempt++)
        {
            var (token, _) = await tokens.GetTokenAsync(forceRefresh: attempt > 0, cancellationToken).ConfigureAwait(false);
            SaslMechanism sasl = mechanism == "XOAUTH2" ? new SaslMechanismOAuth2(username, token) : new SaslMechanismOAuthBearer(username, token);
            try
            {
                await client.AuthenticateAsync(sasl, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (AuthenticationException ex) when (Imap.ServerThrottle.IsThrottled(ex, out _))
            {
                throw; // the server is throttling, not refusing the token: the caller waits and connects again
            }
            catch (AuthenticationException ex) when (attempt > 0)
            {
                throw new SignInRefusedException(client is MailKit.Net.Smtp.ISmtpClient ? SmtpRefusal(setting, username, mechanism) : ImapRefusal(setting, username, mechanism), ex);
            }
            catch (AuthenticationException)
            {
                // The cached token may have expired or been revoked: one more try with a fresh token.
            }
        }
    }

    /// <summary>What an IMAP server's refusal of an issued token means, and the Exchange Online fix.</summary>
    /// <param name="setting">The settings path.</param>
    /// <param name="username">The mailbox.</param>
    /// <param name="mechanism">The SASL mechanism.</param>
    /// <returns>The message.</returns>
    internal static string ImapRefusal(string setting, string username, string mechanism) =>
        $"{setting}: the mail server refused the app's token for '{username}' ({mechanism}): the authority issued it, so the app lacks access to this mailbox. "
        + "In Exchange Online: register the app's service principal (New-ServicePrincipal) and grant it FullAccess to the mailbox "
        + "(Add-MailboxPermission -AccessRights FullAccess), and check that IMAP is enabled for the mailbox (Set-CASMailbox -ImapEnabled $true).";

    /// <summary>What an SMTP relay's refusal of an issued token means, and the Exchange Online fix.</summary>
    /// <param name="setting">The settings path.</param>
    /// <param name="username">The mailbox sent as.</param>
    /// <param name="mechanism">The SASL mechanism.</param>
    /// <returns>The message.</returns>
    internal static string SmtpRefusal(string setting, string username, string mechanism) =>
        $"{setting}: the SMTP relay refused the app's token for '{username}' ({mechanism}): the authority issued it, so the app may not send as this mailbox. "
        + "In Exchange Online: grant admin consent for SMTP.SendAsApp, register the app's service principal (New-ServicePrincipal), grant it FullAccess "
        + "to the mailbox (Add-MailboxPermission -AccessRights FullAccess), and allow SMTP AUTH for the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false).";

    /// <summary>The SASL mechanism for a token: XOAUTH2 where offered (Exchange Online), else OAUTHBEARER.</summary>
    /// <param name="client">A connected client.</param>
    /// <param name="setting">The settings path, for the message.</param>
    /// <returns><c>XOAUTH2</c> or <c>OAUTHBEARER</c>.</returns>
    /// <exception cref="SignInRefusedException">The server offers neither.</exception>
    public static string Mechanism(IMailService client, string setting)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.AuthenticationMechanisms.Contains("XOAUTH2") ? "XOAUTH2"
            : client.AuthenticationMechanisms.Contains("OAUTHBEARER") ? "OAUTHBEARER"
            : throw new SignInRefusedException(
                $"{setting}:Authentication: the server offers neither XOAUTH2 nor OAUTHBEARER (it offers {string.Join(", ", client.AuthenticationMechanisms)}); sign in with Password, or enable OAuth2 on the server.");
    }
}
