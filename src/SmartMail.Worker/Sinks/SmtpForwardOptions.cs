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

    /// <summary>The user name to authenticate with; no authentication when empty.</summary>
    public string? Username { get; set; }

    /// <summary>The password for <see cref="Username"/>.</summary>
    public string? Password { get; set; }

    /// <summary>The address SmartMail sends as (header From in Attach mode, Resent-From in Resend mode, and the envelope sender).</summary>
    public string From { get; set; } = "";

    /// <summary>The time-out of each SMTP operation (connect, each command, the data transfer).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attach (default) or Resend.</summary>
    public SmtpForwardMode Mode { get; set; } = SmtpForwardMode.Attach;
}
