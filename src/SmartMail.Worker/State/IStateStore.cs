using System.Data.Common;
using SmartMail.Worker.Threads;

namespace SmartMail.Worker.State;

/// <summary>
/// Everything SmartMail keeps as state, as the rest of the code sees it: the mail ledger (<see cref="Ledger"/> writes, the
/// reads below), the audit trail, the web app's summaries and actions, the instance's own values, and thread memory.
/// SQLite (<see cref="SqliteStateStore"/>) is the embedded default. Implementations are thread-safe; a failure to record
/// is a <see cref="StateStoreException"/> (the worker fails closed).
/// </summary>
public interface IStateStore : IMailReads, IAuditTrail, IWebActionStore, IInstanceMeta, IModelStore, IDisposable
{
    /// <summary>The mail's state machine over this store: the one writer of mail rows, and of their audit rows with them.</summary>
    MailLedger Ledger { get; }

    /// <summary>What this store remembers of threads (Message-ID → where the thread went).</summary>
    ThreadMemory Threads { get; }

    /// <summary>Where the state lives, for messages (a file path, or a server and database; never a password).</summary>
    string Location { get; }

    /// <summary>
    /// Opens a new connection to the database under the store, for readers that query it directly (the web app's pages).
    /// The caller disposes it. It never takes part in the store's own transactions.
    /// </summary>
    /// <returns>An open connection.</returns>
    /// <exception cref="StateStoreException">The database cannot be opened.</exception>
    DbConnection OpenConnection();

    /// <summary>
    /// Deletes the web app's rows (sender, masked subject) of mail last decided before <paramref name="cutoff"/>, except
    /// mail still waiting for a person (<c>pending</c>, <c>triage</c>, <c>quarantined</c>). The ledger and the audit trail are not touched.
    /// </summary>
    /// <param name="cutoff">Rows decided before this go.</param>
    /// <returns>How many rows were deleted.</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    int PurgeSummaries(DateTimeOffset cutoff);
}

/// <summary>The ledger's reads: what is known of each mail.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "C# only; Get is the ledger's established name.")]
public interface IMailReads
{
    /// <summary>The ledger row for <paramref name="key"/>, if any.</summary>
    /// <param name="key">The mail's key.</param>
    /// <returns>The record or <see langword="null"/>.</returns>
    MailRecord? Get(MailKey key);

    /// <summary>A mail with this fingerprint in this mailbox that was really delivered before (delivered or acknowledged), under any key.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>The record or <see langword="null"/>.</returns>
    MailRecord? FindDelivered(string mailbox, string fingerprint);

    /// <summary>The ledger rows of <paramref name="keys"/> that exist (<see cref="Get"/> for a batch, in as few queries as the store can).</summary>
    /// <param name="keys">The mails' keys.</param>
    /// <returns>The records by key; a key without a row is absent.</returns>
    IReadOnlyDictionary<MailKey, MailRecord> GetMany(IReadOnlyCollection<MailKey> keys);

    /// <summary><see cref="FindDelivered"/> for many fingerprints of one mailbox.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprints">The fingerprints.</param>
    /// <returns>The earliest delivered record by fingerprint; a fingerprint never delivered is absent.</returns>
    IReadOnlyDictionary<string, MailRecord> FindDeliveredMany(string mailbox, IReadOnlyCollection<string> fingerprints);

    /// <summary>Decided mails whose fingerprint starts with <paramref name="fingerprintPrefix"/> (for corrections reported by hand).</summary>
    /// <param name="fingerprintPrefix">A fingerprint or its first characters.</param>
    /// <returns>Mailbox, fingerprint, decision id, destination and decision record of each.</returns>
    IReadOnlyList<(string Mailbox, string Fingerprint, string DecisionId, string? Destination, string? DecisionJson)> FindDecided(string fingerprintPrefix);

    /// <summary>Mails of <paramref name="mailbox"/> not yet acknowledged.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <returns>The records.</returns>
    IReadOnlyList<MailRecord> ListUnfinished(string mailbox);

    /// <summary>Mails of <paramref name="mailbox"/> waiting for an unavailable destination, not due before a later time.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="now">The time.</param>
    /// <returns>Their keys.</returns>
    IReadOnlySet<MailKey> ListWaiting(string mailbox, DateTimeOffset now);

    /// <summary>Mails per state.</summary>
    /// <returns>Counts by state.</returns>
    IReadOnlyDictionary<MailState, int> CountByState();
}

/// <summary>The append-only audit trail, and its mirror in <c>audit.jsonl</c>.</summary>
public interface IAuditTrail
{
    /// <summary>The file every audit row is mirrored to as a JSON line after its transaction commits (none when <see langword="null"/>).</summary>
    string? AuditFile { get; }

    /// <summary>Mirrors every audit row written from now on to <paramref name="path"/> as a JSON line (a no-op when it does already).</summary>
    /// <param name="path">The <c>audit.jsonl</c> file.</param>
    void MirrorAuditTo(string path);

    /// <summary>Appends an audit row that is no step of a mail's life. Steps of a mail's life are written by the ledger, with their audit rows.</summary>
    /// <param name="audit">The row.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    void AppendAudit(AuditEntry audit);

    /// <summary>All audit rows, oldest first.</summary>
    /// <returns>The rows.</returns>
    IReadOnlyList<AuditEntry> ReadAudit();
}

/// <summary>
/// The web app's actions on a mail (route, correct, release), recorded before they are performed. They are written by the
/// ledger's transitions (<see cref="MailLedger.RequestAction"/> and on); this is their read.
/// </summary>
public interface IWebActionStore
{
    /// <summary>Web actions recorded but not finished: the recovery finishes them.</summary>
    /// <returns>The actions, oldest first.</returns>
    IReadOnlyList<WebActionRecord> OpenActions();
}

/// <summary>Values this instance keeps about itself.</summary>
public interface IInstanceMeta
{
    /// <summary>This ledger's instance id: eight hex digits made once, when the store is created (IMAP claim keywords carry it).</summary>
    string InstanceId { get; }

    /// <summary>
    /// Whether instances share this ledger (PostgreSQL), rather than each keeping its own (SQLite). In a shared ledger a claim
    /// another instance recorded is the fleet's claim: whoever holds the mailbox's lease continues it under the same marker.
    /// </summary>
    bool SharedByInstances { get; }

    /// <summary>A value kept under <paramref name="key"/> (for example the lease generation last held).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    string? GetMeta(string key);

    /// <summary>Records <paramref name="value"/> under <paramref name="key"/> durably.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    void SetMeta(string key, string value);
}
