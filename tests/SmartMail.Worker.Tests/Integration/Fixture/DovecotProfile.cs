namespace SmartMail.Worker.Tests.Integration;

/// <summary>What the test Dovecot looks like to a client.</summary>
public enum DovecotProfile
{
    /// <summary>Dovecot as shipped: its own capability list, "." as hierarchy separator, INBOX only.</summary>
    Default,

    /// <summary>
    /// Exchange Online as an IMAP client sees it: its capability list (no CONDSTORE, QRESYNC, ENABLE or SPECIAL-USE),
    /// "/" as hierarchy separator, the folders Sent Items, Deleted Items, Junk Email, Drafts and Archive, and folder
    /// names that may hold "." (maildir LAYOUT=fs).
    /// </summary>
    ExchangeOnline,
}
