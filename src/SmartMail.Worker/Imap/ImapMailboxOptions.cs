using System.ComponentModel.DataAnnotations;

namespace SmartMail.Worker.Imap;

/// <summary>How to reach one IMAP mailbox (an entry of <c>SmartMail:Mailboxes</c>).</summary>
public sealed class ImapMailboxOptions
{
    /// <summary>A short name used in keys, logs, metrics and the audit trail.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "use letters, digits, '.', '_' or '-' (at most 64)")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The server host name.</summary>
    [Required]
    public string Host { get; set; } = string.Empty;

    /// <summary>The port.</summary>
    /// <value>The default is 993 (IMAPS).</value>
    [Range(1, 65535)]
    public int Port { get; set; } = 993;

    /// <summary><c>SslOnConnect</c> (IMAPS), <c>StartTls</c>, or <c>None</c> (only with <see cref="AllowPlaintext"/>).</summary>
    [Required]
    [RegularExpression("^(SslOnConnect|StartTls|None)$", ErrorMessage = "must be SslOnConnect, StartTls or None")]
    public string Security { get; set; } = "SslOnConnect";

    /// <summary>Whether an unencrypted connection is allowed (test servers on loopback only).</summary>
    public bool AllowPlaintext { get; set; }

    /// <summary>A PEM file with the CA that signs the server's certificate, when it is not in the system store.</summary>
    public string? CaCertificateFile { get; set; }

    /// <summary>The user name.</summary>
    [Required]
    public string Username { get; set; } = string.Empty;

    /// <summary>
    /// How to sign in: <c>Password</c>, or <c>OAuth2</c> (app-only client credentials, as Exchange Online requires; see
    /// docs/exchange-online.md) with the settings in <see cref="OAuth2"/>.
    /// </summary>
    /// <value>The default is <c>Password</c>.</value>
    [Required]
    [RegularExpression("^(Password|OAuth2)$", ErrorMessage = "must be Password or OAuth2")]
    public string Authentication { get; set; } = "Password";

    /// <summary>The OAuth2 sign-in, used when <see cref="Authentication"/> is <c>OAuth2</c>.</summary>
    public Auth.OAuth2Options OAuth2 { get; set; } = new();

    /// <summary>Whether this mailbox signs in with OAuth2.</summary>
    public bool UsesOAuth2 => string.Equals(Authentication, "OAuth2", StringComparison.Ordinal);

    /// <summary>The password; prefer <see cref="PasswordFile"/> or the environment (never appsettings.json).</summary>
    public string? Password { get; set; }

    /// <summary>A file holding the password (e.g. a systemd credential under $CREDENTIALS_DIRECTORY).</summary>
    public string? PasswordFile { get; set; }

    /// <summary>The folder watched for new mail.</summary>
    [Required]
    public string Folder { get; set; } = "INBOX";

    /// <summary>Where mail delivered elsewhere (drop folder) is moved out of the watched folder to.</summary>
    [Required]
    public string ProcessedFolder { get; set; } = "SmartMail-Processed";

    /// <summary>Timeout of every network call.</summary>
    /// <value>The default is 60 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one IDLE lasts before it is re-issued (servers drop idle clients after ~10 minutes).</summary>
    /// <value>The default is 9 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:29:00")]
    public TimeSpan IdleRestart { get; set; } = TimeSpan.FromMinutes(9);

    /// <summary>How often the folder is polled when the server has no IDLE (and as a safety net with it).</summary>
    /// <value>The default is 60 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Mails delivered together (one UID MOVE per destination per batch).</summary>
    /// <value>The default is 500 (measured: 200 → 824, 500 → ~1,000 mails/s over loopback Dovecot).</value>
    [Range(1, 5000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// The most bytes one batch fetches, by the sizes the server lists (RFC822.SIZE): a batch ends before it would hold more,
    /// and a mail larger than this is fetched alone. Mail over <c>SmartMail:MaxMessageMegabytes</c> is not fetched at all.
    /// </summary>
    /// <value>The default is 64 MB.</value>
    [Range(1, 4096)]
    public int BatchMegabytes { get; set; } = 64;

    /// <summary>Whether IDLE is used when the server offers it.</summary>
    public bool UseIdle { get; set; } = true;

    /// <summary>
    /// Whether this instance takes the lease on the watched folder (<see cref="ImapLease"/>) before it works it, so that a
    /// second instance on the same mailbox (started by mistake, or as a standby) waits instead of routing mail twice.
    /// </summary>
    /// <value>The default is <see langword="true"/>; without it run exactly one instance per mailbox.</value>
    public bool UseLease { get; set; } = true;

    /// <summary>The folder under which the lease lives (one child folder per renewal, the last 20 kept).</summary>
    [Required]
    public string LeaseFolder { get; set; } = "SmartMail-Lease";

    /// <summary>
    /// How long a standby waits without seeing the holder renew before it takes over. The holder renews every sixth of
    /// it and stops working when it has not renewed for <c>LeaseDuration - CommandTimeout - LeaseDuration/6</c>.
    /// </summary>
    /// <value>The default is 3 minutes; at least twice <see cref="CommandTimeout"/>.</value>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>The password from <see cref="PasswordFile"/> or <see cref="Password"/>.</summary>
    /// <returns>The password.</returns>
    /// <exception cref="InvalidOperationException">Neither is set.</exception>
    public string ResolvePassword() =>
        PasswordFile is { } file ? File.ReadAllText(file).TrimEnd('\r', '\n')
        : Password ?? throw new InvalidOperationException($"Mailbox '{Name}': set PasswordFile or Password (from the environment).");
}
