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

    /// <summary>What the web app lists about the mail, written in the same transaction; none when <see langword="null"/>.</summary>
    public SummaryToRecord? Summary { get; init; }
}

/// <summary>
/// What the web app lists about a decided mail, written in the decision's transaction (<see cref="MailLedger.Decide"/>).
/// The subject has its CPR numbers masked; sender and subject are personal data and never logged.
/// </summary>
/// <param name="Subject">The subject, CPR numbers masked (empty when the mail was not read).</param>
/// <param name="Sender">The sender's address (empty when not read).</param>
/// <param name="Received">The mail's Date, else when SmartMail saw it.</param>
/// <param name="Source"><c>rule</c>, <c>model</c>, <c>thread</c>, <c>manual</c> or <c>quarantine</c>.</param>
/// <param name="Label">The label routed to, if any.</param>
/// <param name="Confidence">The model's confidence in its top label, if asked.</param>
/// <param name="ModelVersion">The model asked, if any.</param>
/// <param name="Outcome">Where the delivery takes it: <c>routed</c>, <c>triage</c> or <c>quarantined</c>.</param>
public sealed record SummaryToRecord(string Subject, string Sender, DateTimeOffset? Received, string Source, string? Label, float? Confidence,
    string? ModelVersion, string Outcome);

/// <summary>An action taken in the web app, as recorded before it is performed (idempotent by decision id, kind and label).</summary>
/// <param name="DecisionId">The decision id.</param>
/// <param name="Kind"><c>route</c>, <c>correct</c> or <c>release</c>.</param>
/// <param name="Label">The department (empty for a release).</param>
/// <param name="User">Who asked.</param>
/// <param name="Mailbox">The mail's mailbox.</param>
/// <param name="FromDestination">Where the mail was when the action was asked.</param>
/// <param name="ToDestination">Where it goes.</param>
/// <param name="Step">How far it got.</param>
/// <param name="Error">Why it failed, if it did (no personal data).</param>
public sealed record WebActionRecord(string DecisionId, string Kind, string Label, string User, string Mailbox, string FromDestination,
    string ToDestination, WebActionStep Step, string? Error);

/// <summary>
/// The steps of a web action's life (stored as their lower-case names). <see cref="MailLedger"/> writes each, by the
/// transitions <see cref="MailTransition.RequestAction"/>, <see cref="MailTransition.MoveAction"/>,
/// <see cref="MailTransition.FailAction"/> and <see cref="MailTransition.CompleteAction"/>.
/// </summary>
public enum WebActionStep
{
    /// <summary>Recorded, nothing done yet.</summary>
    Intent,
    /// <summary>The mail was moved to its new place.</summary>
    Moved,
    /// <summary>Completed with its audit rows (and correction).</summary>
    Done,
    /// <summary>Refused; nothing was moved.</summary>
    Failed,
}
