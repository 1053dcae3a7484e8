namespace SmartMail.Worker.State;

/// <summary>
/// Where a mail is in its life (stored as the number in the ledger's <c>state</c> column). The transitions between
/// these states are named, checked and written in one place: <see cref="MailLedger"/>.
/// </summary>
public enum MailState
{
    /// <summary>Seen in the source; nothing decided yet.</summary>
    Seen = 0,
    /// <summary>Decision recorded (and audited); not yet delivered. A claim marker may be recorded; a retry time may be set.</summary>
    Decided = 1,
    /// <summary>Delivered to its destination; the source still holds it.</summary>
    Delivered = 2,
    /// <summary>Delivered and removed from the source: done.</summary>
    Acknowledged = 3,
    /// <summary>Left the source before it was delivered (another client moved or deleted it, or UIDVALIDITY changed): done, not delivered.</summary>
    Gone = 4,
    /// <summary>Another SmartMail instance claimed it first and delivers it: done here, not delivered by this instance.</summary>
    ClaimedElsewhere = 5,
}

/// <summary>A mail's key in a source: (mailbox, folder, UIDVALIDITY, UID). Drop folders use UIDVALIDITY 0 and the file name.</summary>
/// <param name="Mailbox">The configured mailbox name.</param>
/// <param name="Folder">The folder in it.</param>
/// <param name="UidValidity">The folder's UIDVALIDITY (0 for drop folders).</param>
/// <param name="Uid">The UID (or file name).</param>
public sealed record MailKey(string Mailbox, string Folder, long UidValidity, string Uid);

/// <summary>What the ledger knows about one mail.</summary>
/// <param name="Key">Its key.</param>
/// <param name="Fingerprint">SHA-256 of its bytes.</param>
/// <param name="DecisionId">The stable id every delivery is idempotent on.</param>
/// <param name="State">The last completed step.</param>
/// <param name="Destination">Where it goes, once decided.</param>
/// <param name="DecisionJson">The decision record, once decided.</param>
/// <param name="Attempts">How many times processing was started.</param>
/// <param name="Marker">The IMAP keyword set on the mail just before it was moved, if it was (crash recovery finds it by it).</param>
public sealed record MailRecord(MailKey Key, string Fingerprint, string DecisionId, MailState State, string? Destination,
    string? DecisionJson, int Attempts, string? Marker = null)
{
    /// <summary>Whether the mail reached its destination (delivered, or delivered and acknowledged).</summary>
    public bool IsDelivered => State is MailState.Delivered or MailState.Acknowledged;
}

/// <summary>A decision to record with its audit row.</summary>
/// <param name="Key">The mail.</param>
/// <param name="Destination">Where it goes.</param>
/// <param name="DecisionJson">The decision record.</param>
/// <param name="Audit">The audit row.</param>
public sealed record DecisionToRecord(MailKey Key, string Destination, string DecisionJson, AuditEntry Audit)
{
    /// <summary>The mail's Message-ID to remember for its thread (written in the decision's transaction); none when <see langword="null"/>.</summary>
    public Threads.ThreadEntry? Thread { get; init; }
}
