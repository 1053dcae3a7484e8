namespace SmartMail.Worker.Privacy;

/// <summary>
/// The state store's side of a person's request for access or erasure: the keyed-hash index, which model versions
/// learned from which examples, where a mail's rows are, and their erasure. One implementation per state store provider.
/// </summary>
public interface IPrivacyStore
{
    /// <summary>Records what decided mails can be found by (written with the decisions).</summary>
    /// <param name="mails">The mails and their keyed hashes.</param>
    void Index(IReadOnlyCollection<IndexedMail> mails);

    /// <summary>The decisions the index has seen (the rest are found by reading the journal).</summary>
    /// <returns>Their decision ids.</returns>
    IReadOnlySet<string> IndexedDecisions();

    /// <summary>The mails with any of <paramref name="hashes"/>.</summary>
    /// <param name="hashes">Keyed hashes.</param>
    /// <param name="kind">Only keys of this <see cref="MailKeys"/> kind; any when <see langword="null"/>.</param>
    /// <returns>The mails.</returns>
    IReadOnlyList<MailRef> FindByHash(IReadOnlyCollection<string> hashes, string? kind = null);

    /// <summary>The keyed hashes of one kind the mails have.</summary>
    /// <param name="mails">The mails.</param>
    /// <param name="kind">A <see cref="MailKeys"/> kind.</param>
    /// <returns>The hashes.</returns>
    IReadOnlyList<string> KeysOf(IReadOnlyCollection<MailRef> mails, string kind);

    /// <summary>Mails whose kept text (training example, web-app subject or sender) contains <paramref name="text"/>.</summary>
    /// <param name="text">A name or other text.</param>
    /// <returns>The mails.</returns>
    IReadOnlyList<MailRef> FindByText(string text);

    /// <summary>Where the store holds something of <paramref name="mail"/>.</summary>
    /// <param name="mail">The mail.</param>
    /// <param name="exampleHash">The keyed hash of its example (what model versions recorded).</param>
    /// <returns>The places.</returns>
    IReadOnlyList<StorePlace> PlacesOf(MailRef mail, string exampleHash);

    /// <summary>The compliance report's figures from the same database, on a connection of their own (the caller disposes them).</summary>
    /// <returns>The figures.</returns>
    ComplianceFigures Figures();

    /// <summary>The mail a decision id names, if the ledger has it.</summary>
    /// <param name="decisionId">The decision id.</param>
    /// <returns>The mail, or <see langword="null"/>.</returns>
    MailRef? MailOf(string decisionId);

    /// <summary>The mail's ledger rows (one per place it was seen: mailbox folder and UID).</summary>
    /// <param name="mail">The mail.</param>
    /// <returns>The rows.</returns>
    IReadOnlyList<LedgerRow> LedgerOf(MailRef mail);

    /// <summary>The model versions trained on any of these examples.</summary>
    /// <param name="exampleHashes">Keyed hashes of examples.</param>
    /// <returns>The versions.</returns>
    IReadOnlyList<string> ModelsTrainedOn(IReadOnlyCollection<string> exampleHashes);

    /// <summary>Records the examples a model version learned from.</summary>
    /// <param name="modelVersion">The version.</param>
    /// <param name="exampleHashes">Keyed hashes of its examples.</param>
    void RecordTraining(string modelVersion, IReadOnlyCollection<string> exampleHashes);

    /// <summary>
    /// Erases the mails from the store in one transaction: rows with their text or identifiers are deleted, the ledger
    /// row is pseudonymised, audit and correction rows (which hold neither) stay; the model versions are flagged.
    /// </summary>
    /// <param name="mails">The mails.</param>
    /// <param name="flagModels">Model versions trained on them.</param>
    /// <param name="requestId">The erasure's id.</param>
    /// <param name="now">The time.</param>
    /// <returns>How many rows were deleted or pseudonymised.</returns>
    int EraseMails(IReadOnlyCollection<MailRef> mails, IReadOnlyCollection<string> flagModels, string requestId, DateTimeOffset now);

    /// <summary>Mail not yet delivered when its erasure was asked: erased once delivered.</summary>
    /// <param name="fingerprints">The mails' fingerprints.</param>
    /// <param name="requestId">The erasure's id.</param>
    /// <param name="now">The time.</param>
    void AddPending(IReadOnlyCollection<string> fingerprints, string requestId, DateTimeOffset now);

    /// <summary>Pending erasures whose mail has been delivered since.</summary>
    /// <returns>The mails and their requests.</returns>
    IReadOnlyList<(MailRef Mail, string RequestId)> PendingDelivered();

    /// <summary>How many erasures wait for their mail's delivery.</summary>
    /// <returns>The count.</returns>
    int PendingCount();

    /// <summary>Model versions trained on erased mail.</summary>
    /// <returns>Per version: how many erasures touched it, and the last.</returns>
    IReadOnlyList<(string ModelVersion, int Requests, DateTimeOffset Last)> FlaggedModels();

    /// <summary>Records what a retention pass purged.</summary>
    /// <param name="now">When.</param>
    /// <param name="cutoff">The oldest decision time kept.</param>
    /// <param name="examples">Examples purged.</param>
    /// <param name="summaries">Web-app rows purged.</param>
    void RecordPurge(DateTimeOffset now, DateTimeOffset cutoff, int examples, int summaries);

    /// <summary>The latest retention passes, newest first.</summary>
    /// <param name="take">How many.</param>
    /// <returns>The passes.</returns>
    IReadOnlyList<RetentionPurge> Purges(int take);
}

/// <summary>A decided mail, as every store names it.</summary>
/// <param name="Mailbox">The mailbox (or drop folder).</param>
/// <param name="Fingerprint">SHA-256 of the raw message.</param>
/// <param name="DecisionId">The decision id.</param>
public sealed record MailRef(string Mailbox, string Fingerprint, string DecisionId);

/// <summary>Where the ledger saw a mail and how far it got.</summary>
/// <param name="Folder">The source folder.</param>
/// <param name="Uid">Its UID there.</param>
/// <param name="State">Its state.</param>
/// <param name="Destination">Where it was routed.</param>
/// <param name="DecisionJson">The decision record.</param>
public sealed record LedgerRow(string Folder, string Uid, SmartMail.Worker.State.MailState State, string? Destination, string? DecisionJson);

/// <summary>A decided mail and what it can be found by.</summary>
/// <param name="Mail">The mail.</param>
/// <param name="Keys">Its keyed hashes.</param>
/// <param name="Time">When it was decided.</param>
public sealed record IndexedMail(MailRef Mail, IReadOnlyList<PersonKey> Keys, DateTimeOffset Time);

/// <summary>Rows of one kind a store holds of a mail.</summary>
/// <param name="Kind">A <see cref="PlaceKind"/>.</param>
/// <param name="Location">Where (table, file, model version).</param>
/// <param name="Count">How many rows or files.</param>
/// <param name="Holds">What they hold, in words.</param>
public sealed record StorePlace(string Kind, string Location, int Count, string Holds);

/// <summary>One pass of the retention purge.</summary>
/// <param name="Time">When.</param>
/// <param name="Cutoff">Decisions older than this were purged.</param>
/// <param name="Examples">Training examples purged.</param>
/// <param name="Summaries">Web-app rows purged.</param>
public sealed record RetentionPurge(DateTimeOffset Time, DateTimeOffset Cutoff, int Examples, int Summaries);

/// <summary>The kinds of place a person's data can be.</summary>
public static class PlaceKind
{
    /// <summary>The journal's copy of the mail (.eml).</summary>
    public const string JournalMail = "journal-mail";

    /// <summary>The journal's decision record (.json).</summary>
    public const string JournalDecision = "journal-decision";

    /// <summary>The drop-folder inbox: not yet routed.</summary>
    public const string Inbox = "inbox";

    /// <summary>The IMAP mailbox the mail was routed in (outside SmartMail's data directory).</summary>
    public const string Mailbox = "mailbox";

    /// <summary>The ledger.</summary>
    public const string Ledger = "ledger";

    /// <summary>The web app's row.</summary>
    public const string Summary = "summary";

    /// <summary>The training example.</summary>
    public const string Example = "example";

    /// <summary>A correction.</summary>
    public const string Correction = "correction";

    /// <summary>The realised-precision count.</summary>
    public const string Precision = "precision";

    /// <summary>Thread memory.</summary>
    public const string Thread = "thread";

    /// <summary>A web-app action.</summary>
    public const string WebAction = "web-action";

    /// <summary>Audit rows.</summary>
    public const string Audit = "audit";

    /// <summary>The audit trail's JSON-lines copy.</summary>
    public const string AuditFile = "audit-file";

    /// <summary>The privacy index.</summary>
    public const string Index = "index";

    /// <summary>A model version trained on the mail.</summary>
    public const string Model = "model";
}
