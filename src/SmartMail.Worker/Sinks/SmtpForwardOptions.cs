namespace SmartMail.Worker.Sinks;

/// <summary>How the connection to the SMTP relay is secured.</summary>
public enum SmtpForwardSecurity
{
    /// <summary>Implicit TLS from the first byte (port 465).</summary>
    SslOnConnect,

    /// <summary>Plain connect, then a mandatory STARTTLS (port 587); fails if the server does not offer it.</summary>
    StartTls,

    /// <summary>No TLS at all; refused unless <see cref="SmtpForwardOptions.AllowPlaintext"/> is set (test relays only).</summary>
    None,
}

/// <summary>What a forwarded mail looks like to its recipient.</summary>
public enum SmtpForwardMode
{
    /// <summary>A new mail from <see cref="SmtpForwardOptions.From"/> that explains the routing and attaches the original as message/rfc822.</summary>
    Attach,

    /// <summary>The original mail re-sent unchanged but for Resent-From/-To/-Date/-Message-ID and X-SmartMail-* headers.</summary>
    Resend,
}

/// <summary>Options of <see cref="SmtpForwardSink"/>.</summary>
public sealed class SmtpForwardOptions
{
    /// <summary>The SMTP relay's host name.</summary>
    public string Host { get; set; } = "";

    /// <summary>The SMTP relay's port (587 for STARTTLS, 465 for implicit TLS).</summary>
    public int Port { get; set; } = 587;

    /// <summary>How the connection is secured.</summary>
    public SmtpForwardSecurity Security { get; set; } = SmtpForwardSecurity.StartTls;

    /// <summary>Must be true to use <see cref="SmtpForwardSecurity.None"/>: an explicit opt-in to plaintext SMTP.</summary>
    public bool AllowPlaintext { get; set; }

    /// <summary>
    /// A PEM (or DER) file with the CA that signs the relay's certificate, when it is not in the system store (as
    /// <c>Mailboxes[]:CaCertificateFile</c> for IMAP). The relay's certificate must still match <see cref="Host"/>.
    /// </summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>
    /// The user name to authenticate with; no authentication when empty and <see cref="Authentication"/> is <c>Password</c>.
    /// With OAuth2, the mailbox the app sends as (its user principal name, e.g. <c>smartmail@kommune.dk</c>).
    /// </summary>
    public string? Username { get; set; }

    /// <summary>
    /// How to sign in to the relay: <c>Password</c> (with <see cref="Username"/> and <see cref="Password"/>; none when
    /// <see cref="Username"/> is empty), or <c>OAuth2</c> (app-only client credentials by SASL XOAUTH2, as Exchange Online
    /// requires since April 2026: the app needs the permission SMTP.SendAsApp; see docs/exchange-online.md).
    /// </summary>
    /// <value>The default is <c>Password</c>.</value>
    public string Authentication { get; set; } = "Password";

    /// <summary>The OAuth2 sign-in, used when <see cref="Authentication"/> is <c>OAuth2</c> (the scope defaults to Exchange Online's).</summary>
    public Auth.OAuth2Options OAuth2 { get; set; } = new();

    /// <summary>Whether the relay is signed in to with OAuth2.</summary>
    public bool UsesOAuth2 => string.Equals(Authentication, "OAuth2", StringComparison.Ordinal);

    /// <summary>The password for <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>The address SmartMail sends as (header From in Attach mode, Resent-From in Resend mode, and the envelope sender).</summary>
    public string From { get; set; } = "";

    /// <summary>The time-out of each SMTP operation (connect, each command, the data transfer).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attach (default) or Resend.</summary>
    public SmtpForwardMode Mode { get; set; } = SmtpForwardMode.Attach;

    /// <summary>What is wrong with these options, one message per problem, each naming the setting.</summary>
    /// <param name="section">The configuration path of these options, e.g. <c>SmartMail:Smtp</c>.</param>
    /// <returns>The problems; empty when none.</returns>
    public IEnumerable<string> Validate(string section)
    {
        ArgumentNullException.ThrowIfNull(section);
        if (string.IsNullOrWhiteSpace(Host))
        {
            yield return $"{section}:Host: the SMTP relay's host name is required.";
        }
        if (Port is < 1 or > 65535)
        {
            yield return $"{section}:Port: {Port} is not a valid port.";
        }
        if (Security == SmtpForwardSecurity.None && !AllowPlaintext)
        {
            yield return $"{section}:Security: None sends mail (and the password) in clear text; set {section}:AllowPlaintext=true only for a test relay.";
        }
        if (CaCertificateFile is { } ca && !File.Exists(ca))
        {
            yield return $"{section}:CaCertificateFile: '{ca}' does not exist.";
        }
        if (Timeout <= TimeSpan.Zero)
        {
            yield return $"{section}:Timeout: must be positive.";
        }
        if (Authentication is not ("Password" or "OAuth2"))
        {
            yield return $"{section}:Authentication: must be Password or OAuth2 (not '{Authentication}').";
        }
        else if (UsesOAuth2)
        {
            if (string.IsNullOrWhiteSpace(Username))
            {
                yield return $"{section}:Username: set the mailbox the app sends as (its user principal name), which OAuth2 signs in as.";
            }
            foreach (var failure in OAuth2.Validate($"{section}:OAuth2"))
            {
                yield return failure;
            }
        }
        if (!MimeKit.MailboxAddress.TryParse(From, out var from) || !from.Address.Contains('@', StringComparison.Ordinal))
        {
            yield return $"{section}:From: '{From}' is not an e-mail address.";
        }
    }
}
