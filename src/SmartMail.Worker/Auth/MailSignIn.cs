using MailKit;
using MailKit.Security;

namespace SmartMail.Worker.Auth;

/// <summary>
/// Signs a connected IMAP or SMTP client in: with a password, or with an OAuth2 access token by SASL XOAUTH2 (Exchange
/// Online), or OAUTHBEARER (RFC 7628) where only that is offered. A refused token is retried once with a fresh one (it may
/// have expired or been revoked since it was cached); a second refusal is for good. A server that cannot check tokens now
/// (<c>NO [UNAVAILABLE]</c>, RFC 5530) is transient (<see cref="TokenCheckUnavailableException"/>).
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
    /// <exception cref="TokenCheckUnavailableException">The server cannot check tokens now (transient).</exception>
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
            var transcript = (client as MailService)?.ProtocolLogger as SignInTranscript;
            transcript?.Listen();
            try
            {
                await client.AuthenticateAsync(sasl, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (AuthenticationException ex) when (Imap.ServerThrottle.IsThrottled(ex, out _))
            {
                throw; // the server is throttling, not refusing the token: the caller waits and connects again
            }
            catch (AuthenticationException ex) when (transcript?.HeardUnavailable == true || IsTemporary(ex))
            {
                // NO [UNAVAILABLE] (RFC 5530): the server cannot check tokens now (its introspection is down); not the token's fault.
                throw new TokenCheckUnavailableException(
                    "the mail server could not check the app's token now (it answered UNAVAILABLE, RFC 5530): its token check (e.g. introspection at the provider) is failing; retrying.", ex);
            }
            catch (AuthenticationException ex) when (attempt > 0)
            {
                throw new SignInRefusedException(client is MailKit.Net.Smtp.ISmtpClient
                    ? SmtpRefusal(setting, username, mechanism, tokens.IsEntraId)
                    : ImapRefusal(setting, username, mechanism, tokens.IsEntraId), ex);
            }
            catch (AuthenticationException)
            {
                // The cached token may have expired or been revoked: one more try with a fresh token.
            }
            finally
            {
                transcript?.Stop();
            }
        }
    }

    /// <summary>What an IMAP server's refusal of an issued token means, and the fix: Exchange Online's when the authority is Entra ID.</summary>
    /// <param name="setting">The settings path.</param>
    /// <param name="username">The mailbox.</param>
    /// <param name="mechanism">The SASL mechanism.</param>
    /// <param name="entraId">Whether the authority is Entra ID.</param>
    /// <returns>The message.</returns>
    internal static string ImapRefusal(string setting, string username, string mechanism, bool entraId) => entraId
        ? $"{setting}: the mail server refused the app's token for '{username}' ({mechanism}): the authority issued it, so the app lacks access to this mailbox. "
          + "In Exchange Online: register the app's service principal (New-ServicePrincipal) and grant it FullAccess to the mailbox "
          + "(Add-MailboxPermission -AccessRights FullAccess), and check that IMAP is enabled for the mailbox (Set-CASMailbox -ImapEnabled $true)."
        : $"{setting}: the mail server refused the token the provider issued for '{username}' ({mechanism}): the server must accept this provider's tokens "
          + $"by {mechanism} and map them to the user in Username ('{username}'); check Username, and the server's token check "
          + "(e.g. Dovecot's oauth2 passdb: introspection_url and username_attribute).";

    /// <summary>What an SMTP relay's refusal of an issued token means, and the fix: Exchange Online's when the authority is Entra ID.</summary>
    /// <param name="setting">The settings path.</param>
    /// <param name="username">The mailbox sent as.</param>
    /// <param name="mechanism">The SASL mechanism.</param>
    /// <param name="entraId">Whether the authority is Entra ID.</param>
    /// <returns>The message.</returns>
    internal static string SmtpRefusal(string setting, string username, string mechanism, bool entraId) => entraId
        ? $"{setting}: the SMTP relay refused the app's token for '{username}' ({mechanism}): the authority issued it, so the app may not send as this mailbox. "
          + "In Exchange Online: grant admin consent for SMTP.SendAsApp, register the app's service principal (New-ServicePrincipal), grant it FullAccess "
          + "to the mailbox (Add-MailboxPermission -AccessRights FullAccess), and allow SMTP AUTH for the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false)."
        : $"{setting}: the SMTP relay refused the token the provider issued for '{username}' ({mechanism}): the relay must accept this provider's tokens "
          + $"by {mechanism} and let the user they map to send as Username ('{username}'); check Username and the relay's token check.";

    // Dovecot: "NO [UNAVAILABLE] Temporary authentication failure" (MailKit keeps the text, not the code).
    private static bool IsTemporary(AuthenticationException ex) =>
        ex.Message.Contains("Temporary authentication failure", StringComparison.OrdinalIgnoreCase)
        || ex.Message.Contains("[UNAVAILABLE]", StringComparison.OrdinalIgnoreCase);

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
