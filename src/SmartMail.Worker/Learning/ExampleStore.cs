using System.Data.Common;
using System.Globalization;
using SmartMail.Core.Classification;
using SmartMail.Core.Privacy;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>
/// What the learning loop keeps, in the state database beside the ledger: each decided mail's text with CPR numbers
/// and addresses redacted (the mail itself stays in the mailbox), its label once known, every correction, and how far
/// each department folder has been looked at. Example text is purged after <see cref="LearningOptions.RetentionDays"/>;
/// correction rows hold no text and are kept as part of the audit trail. Thread-safe.
/// </summary>
public sealed partial class ExampleStore : IDisposable
{
    /// <summary>The longest body kept per example (the featurizer reads no further).</summary>
    public const int MaxBodyLength = 20_000;

    private const int RedactionMargin = 256;

    private readonly ReopeningConnection _db;
    private readonly Lock _gate = new();

    /// <summary>Opens (and if needed creates) the tables in the state database at <paramref name="path"/>.</summary>
    /// <param name="path">The state database (<c>DataDirectory/state.db</c>).</param>
    /// <exception cref="StateStoreException">The file cannot be opened or written.</exception>
    public ExampleStore(string path)
        : this(ReopeningConnection.Sqlite(path), Path.GetFullPath(path ?? throw new ArgumentNullException(nameof(path))), sqlite: true)
    {
    }

    /// <summary>
    /// Opens the learning tables in <paramref name="store"/>'s database: its SQLite file, or the PostgreSQL database a fleet
    /// shares (where the schema's migrations made them), so that retraining sees every instance's corrections.
    /// </summary>
    /// <param name="store">The state store.</param>
    /// <exception cref="StateStoreException">The database cannot be opened or written.</exception>
    public ExampleStore(IStateStore store)
        : this(ReopeningConnection.For(store), store.Location, sqlite: store is SqliteStateStore)
    {
    }

    private ExampleStore(Func<DbConnection> open, string location, bool sqlite)
    {
        try
        {
            _db = new ReopeningConnection(open);
            if (sqlite)
            {
                // Examples are derived data: a lost last commit costs a training example, never a mail.
                // secure_delete: a purged, corrected or erased example is overwritten, not left in free space (docs/privacy.md).
                Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;" + Schema);
                Execute(PrecisionSchema);
            }
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The state store '{location}' cannot be opened for the learning loop: {ex.Message}", ex);
        }
    }

    // The connection, opened again after a failure broke it (a database server restarted). Under _gate.
    private DbConnection Db => _db.Current;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS example (
            mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, decision_id TEXT, label TEXT, origin TEXT NOT NULL,
            decided_label TEXT, model_version TEXT, subject TEXT NOT NULL, body TEXT NOT NULL, mail_date TEXT,
            created_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (mailbox, fingerprint));
        CREATE INDEX IF NOT EXISTS example_created ON example (created_utc);
        CREATE TABLE IF NOT EXISTS correction (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL,
            decision_id TEXT, from_label TEXT, from_destination TEXT, to_label TEXT NOT NULL, location TEXT NOT NULL,
            by_whom TEXT NOT NULL, via TEXT NOT NULL, model_version TEXT, has_text INTEGER NOT NULL);
        CREATE TRIGGER IF NOT EXISTS correction_append_only_update BEFORE UPDATE ON correction
            BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
        CREATE TABLE IF NOT EXISTS feedback_cursor (
            mailbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
            PRIMARY KEY (mailbox, folder));
        """;

    /// <summary>Keeps the text of decided mails (first decision wins; a correction is never overwritten).</summary>
    /// <param name="examples">The mails.</param>
    /// <param name="now">The time.</param>
    public void SaveDecided(IReadOnlyCollection<NewExample> examples, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            return;
        }
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            // One set statement for the batch on PostgreSQL, not one per mail (DO NOTHING: a mail met twice keeps its first row).
            tx.ExecuteRows(InsertExampleSql("DO NOTHING"),
                [.. examples.Select(e => ExampleParameters(e, e.Label is null ? ExampleOrigin.Manual : ExampleOrigin.Routed, e.Label, now))]);
            tx.Commit();
        }
    }

    /// <summary>
    /// Records a correction and makes the mail a labeled example with the corrected label, in one transaction.
    /// </summary>
    /// <param name="correction">What was corrected.</param>
    /// <param name="text">The mail's text when the caller has it (IMAP); otherwise the text kept at decision time is used.</param>
    /// <returns>Whether the example has text, i.e. whether the correction can train a model.</returns>
    public bool Correct(Correction correction, NewExample? text)
    {
        ArgumentNullException.ThrowIfNull(correction);
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            var hasText = WriteCorrection(tx, correction, text);
            tx.Commit();
            return hasText;
        }
    }

    // The correction's rows (its example takes the right label, the correction row) in the caller's transaction: the ledger's
    // Correct transition writes them with their audit rows.
    internal static bool WriteCorrection(DbTransaction tx, Correction correction, NewExample? text)
    {
        if (text is not null)
        {
            tx.ExecuteAll(InsertExample(text with { Label = correction.ToLabel }, ExampleOrigin.Correction, correction.FromLabel, correction.Time,
                "DO UPDATE SET label = @l, origin = @o, subject = @s, body = @b, updated_utc = @t"));
        }
        else
        {
            using var update = tx.Connection!.CreateCommand();
            update.Transaction = tx;
            update.CommandText = "UPDATE example SET label = @l, origin = @o, updated_utc = @t WHERE mailbox = @m AND fingerprint = @fp";
            update.Bind("@l", correction.ToLabel);
            update.Bind("@o", ExampleOrigin.Correction);
            update.Bind("@t", Time(correction.Time));
            update.Bind("@m", correction.Mailbox);
            update.Bind("@fp", correction.Fingerprint);
            update.ExecuteNonQuery();
        }
        bool hasText;
        using (var check = tx.Connection!.CreateCommand())
        {
            check.Transaction = tx;
            check.CommandText = "SELECT COUNT(*) FROM example WHERE mailbox = @m AND fingerprint = @fp";
            check.Bind("@m", correction.Mailbox);
            check.Bind("@fp", correction.Fingerprint);
            hasText = Convert.ToInt64(check.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
        }
        using (var insert = tx.Connection!.CreateCommand())
        {
            insert.Transaction = tx;
            insert.CommandText = """
                INSERT INTO correction (time_utc, mailbox, fingerprint, decision_id, from_label, from_destination, to_label, location,
                                        by_whom, via, model_version, has_text)
                VALUES (@t, @m, @fp, @d, @from, @fromDest, @to, @loc, @by, @via, @mv, @has)
                """;
            insert.Bind("@t", Time(correction.Time));
            insert.Bind("@m", correction.Mailbox);
            insert.Bind("@fp", correction.Fingerprint);
            insert.Bind("@d", (object?)correction.DecisionId ?? DBNull.Value);
            insert.Bind("@from", (object?)correction.FromLabel ?? DBNull.Value);
            insert.Bind("@fromDest", (object?)correction.FromDestination ?? DBNull.Value);
            insert.Bind("@to", correction.ToLabel);
            // A caseworker's folder name or address is free text: the same redaction as the audit row.
            insert.Bind("@loc", Redactor.Redact(correction.Location));
            // Who corrected it is what the row is for (the web app's signed-in name is often an address): only CPR numbers go.
            insert.Bind("@by", Cpr.Redact(correction.By));
            insert.Bind("@via", correction.Via);
            insert.Bind("@mv", (object?)correction.ModelVersion ?? DBNull.Value);
            insert.Bind("@has", hasText ? 1 : 0);
            insert.ExecuteNonQuery();
        }
        return hasText;
    }

    // An undone route from manual triage (the web app's undo) takes back what the route recorded, in the caller's transaction
    // (the ledger's CompleteAction): its correction rows go, and the mail's example is unlabeled again, as it was while it
    // waited in triage, so no retrain learns a route the caseworker took back. Returns how many corrections were withdrawn.
    internal static int WithdrawWebCorrections(DbTransaction tx, string mailbox, string decisionId, DateTimeOffset now)
    {
        using (var unlabel = tx.Connection!.CreateCommand())
        {
            unlabel.Transaction = tx;
            unlabel.CommandText = """
                UPDATE example SET label = NULL, origin = @manual, updated_utc = @t
                WHERE mailbox = @m AND origin = @correction
                  AND fingerprint IN (SELECT fingerprint FROM correction WHERE mailbox = @m AND decision_id = @d AND via = 'web')
                """;
            unlabel.Bind("@manual", ExampleOrigin.Manual);
            unlabel.Bind("@correction", ExampleOrigin.Correction);
            unlabel.Bind("@t", Time(now));
            unlabel.Bind("@m", mailbox);
            unlabel.Bind("@d", decisionId);
            unlabel.ExecuteNonQuery();
        }
        using var delete = tx.Connection!.CreateCommand();
        delete.Transaction = tx;
        delete.CommandText = "DELETE FROM correction WHERE mailbox = @m AND decision_id = @d AND via = 'web'";
        delete.Bind("@m", mailbox);
        delete.Bind("@d", decisionId);
        return delete.ExecuteNonQuery();
    }

    /// <summary>The label a mail has now: its correction, else its automatic route; <see langword="null"/> when unknown.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>The label.</returns>
    public string? LabelOf(string mailbox, string fingerprint)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT label FROM example WHERE mailbox = @m AND fingerprint = @fp";
            cmd.Bind("@m", mailbox);
            cmd.Bind("@fp", fingerprint);
            return cmd.ExecuteScalar() as string;
        }
    }

    /// <summary>
    /// The labeled examples a retrain may use: every correction, and automatic routes that have stood uncorrected since
    /// <paramref name="confirmedBefore"/>. Mail still waiting in manual triage has no label and is not returned.
    /// </summary>
    /// <param name="confirmedBefore">Routes decided after this are not yet confirmed.</param>
    /// <returns>The examples as training documents, dated by their decision.</returns>
    public IReadOnlyList<StoredExample> ReadLabeled(DateTimeOffset confirmedBefore)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = """
                SELECT mailbox, fingerprint, label, origin, subject, body, created_utc FROM example
                WHERE label IS NOT NULL AND (origin <> @routed OR created_utc <= @t)
                ORDER BY created_utc, mailbox, fingerprint
                """;
            cmd.Bind("@routed", ExampleOrigin.Routed);
            cmd.Bind("@t", Time(confirmedBefore));
            using var r = cmd.ExecuteReader();
            var result = new List<StoredExample>();
            while (r.Read())
            {
                result.Add(new StoredExample(r.GetString(0), r.GetString(3), new TrainingDocument(r.GetString(2),
                    new TextInput(r.GetString(4), r.GetString(5)), r.GetString(1), DateTimeOffset.Parse(r.GetString(6), CultureInfo.InvariantCulture))));
            }
            return result;
        }
    }

    /// <summary>All corrections, oldest first.</summary>
    /// <returns>The corrections.</returns>
    public IReadOnlyList<Correction> ReadCorrections()
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT time_utc, mailbox, fingerprint, decision_id, from_label, from_destination, to_label, location, by_whom, via, " +
                "model_version FROM correction ORDER BY seq";
            using var r = cmd.ExecuteReader();
            var result = new List<Correction>();
            while (r.Read())
            {
                result.Add(new Correction(DateTimeOffset.Parse(r.GetString(0), CultureInfo.InvariantCulture), r.GetString(1), r.GetString(2),
                    Nullable(r, 3), Nullable(r, 4), Nullable(r, 5), r.GetString(6), r.GetString(7), r.GetString(8), r.GetString(9), Nullable(r, 10)));
            }
            return result;
        }
    }

    /// <summary>Deletes example text older than <paramref name="cutoff"/> (corrections keep their metadata).</summary>
    /// <param name="cutoff">The oldest decision time kept.</param>
    /// <returns>How many examples were deleted.</returns>
    public int Purge(DateTimeOffset cutoff)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "DELETE FROM example WHERE created_utc < @t";
            cmd.Bind("@t", Time(cutoff));
            return cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Examples per origin (<see cref="ExampleOrigin"/>).</summary>
    /// <returns>The counts.</returns>
    public IReadOnlyDictionary<string, int> CountByOrigin()
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT origin, COUNT(*) FROM example GROUP BY origin";
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<string, int>(StringComparer.Ordinal);
            while (r.Read())
            {
                result[r.GetString(0)] = r.GetInt32(1);
            }
            return result;
        }
    }

    /// <summary>How far a folder has been looked at for corrections.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="folder">The folder's full name.</param>
    /// <returns>UIDVALIDITY and the highest UID looked at, or <see langword="null"/> for a folder never looked at.</returns>
    public (long UidValidity, long LastUid)? GetCursor(string mailbox, string folder)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT uidvalidity, last_uid FROM feedback_cursor WHERE mailbox = @m AND folder = @f";
            cmd.Bind("@m", mailbox);
            cmd.Bind("@f", folder);
            using var r = cmd.ExecuteReader();
            return r.Read() ? (r.GetInt64(0), r.GetInt64(1)) : null;
        }
    }

    /// <summary>Records how far a folder has been looked at.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="folder">The folder's full name.</param>
    /// <param name="uidValidity">Its UIDVALIDITY.</param>
    /// <param name="lastUid">The highest UID looked at.</param>
    public void SetCursor(string mailbox, string folder, long uidValidity, long lastUid)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = """
                INSERT INTO feedback_cursor (mailbox, folder, uidvalidity, last_uid) VALUES (@m, @f, @v, @u)
                ON CONFLICT (mailbox, folder) DO UPDATE SET uidvalidity = @v, last_uid = @u
                """;
            cmd.Bind("@m", mailbox);
            cmd.Bind("@f", folder);
            cmd.Bind("@v", uidValidity);
            cmd.Bind("@u", lastUid);
            cmd.ExecuteNonQuery();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _db.Dispose();

    // One example row; what happens when the mail already has one is the caller's (keep it, or take the correction).
    private static DbStatement InsertExample(NewExample e, string origin, string? decidedLabel, DateTimeOffset now, string onConflict) =>
        new(InsertExampleSql(onConflict), ExampleParameters(e, origin, decidedLabel, now));

    private static string InsertExampleSql(string onConflict) => $"""
        INSERT INTO example (mailbox, fingerprint, decision_id, label, origin, decided_label, model_version, subject, body,
                             mail_date, created_utc, updated_utc)
        VALUES (@m, @fp, @d, @l, @o, @decided, @mv, @s, @b, @date, @t, @t)
        ON CONFLICT (mailbox, fingerprint) {onConflict}
        """;

    private static (string Name, object? Value)[] ExampleParameters(NewExample e, string origin, string? decidedLabel, DateTimeOffset now)
    {
        // Personal data never reaches the store: the same redaction as logs and the audit trail.
        // Redacted before it is cut: a number across the limit would otherwise be kept in part (its date and two digits).
        // The margin holds the longest spelling, and an address.
        var body = e.Text.Body.Length > MaxBodyLength + RedactionMargin ? e.Text.Body[..(MaxBodyLength + RedactionMargin)] : e.Text.Body;
        var redacted = Redactor.Redact(body);
        return [("@o", origin), ("@decided", decidedLabel), ("@m", e.Mailbox), ("@fp", e.Fingerprint), ("@d", e.DecisionId), ("@l", e.Label), ("@mv", e.ModelVersion),
            ("@s", Redactor.Redact(e.Text.Subject)), ("@b", redacted.Length > MaxBodyLength ? redacted[..MaxBodyLength] : redacted),
            ("@date", e.MailDate is { } date ? Time(date) : null), ("@t", Time(now))];
    }

    private static string? Nullable(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private void Execute(string sql)
    {
        using var cmd = Db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

/// <summary>Where an example's label came from.</summary>
public static class ExampleOrigin
{
    /// <summary>Routed automatically; counts once it has stood uncorrected for <see cref="LearningOptions.ConfirmAfter"/>.</summary>
    public const string Routed = "routed";

    /// <summary>Sent to manual triage; no label until someone files it.</summary>
    public const string Manual = "manual";

    /// <summary>Labeled by a caseworker's correction.</summary>
    public const string Correction = "correction";
}

/// <summary>A mail's text to keep, with its label when known.</summary>
/// <param name="Mailbox">The mailbox (or drop folder) it came from.</param>
/// <param name="Fingerprint">SHA-256 of the raw message.</param>
/// <param name="DecisionId">The decision that routed it.</param>
/// <param name="Label">The label, or <see langword="null"/> for manual triage.</param>
/// <param name="ModelVersion">The model that decided.</param>
/// <param name="Text">Subject and body as the model reads them (redacted when stored).</param>
/// <param name="MailDate">The mail's Date header.</param>
public sealed record NewExample(string Mailbox, string Fingerprint, string? DecisionId, string? Label, string? ModelVersion,
    TextInput Text, DateTimeOffset? MailDate);

/// <summary>A labeled example read back for training.</summary>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Origin">An <see cref="ExampleOrigin"/> value.</param>
/// <param name="Document">The document (dated by its decision).</param>
public sealed record StoredExample(string Mailbox, string Origin, TrainingDocument Document);

/// <summary>A caseworker's correction of a route.</summary>
/// <param name="Time">When it was noticed or reported.</param>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Fingerprint">The mail.</param>
/// <param name="DecisionId">The decision corrected, when known.</param>
/// <param name="FromLabel">The label it had (<see langword="null"/> from manual triage).</param>
/// <param name="FromDestination">Where SmartMail had put it.</param>
/// <param name="ToLabel">The right label.</param>
/// <param name="Location">Where the correction was seen (the folder) or <c>cli</c>.</param>
/// <param name="By">Who corrected it, as far as known.</param>
/// <param name="Via"><c>imap</c> or <c>cli</c>.</param>
/// <param name="ModelVersion">The model that made the corrected decision.</param>
public sealed record Correction(DateTimeOffset Time, string Mailbox, string Fingerprint, string? DecisionId, string? FromLabel,
    string? FromDestination, string ToLabel, string Location, string By, string Via, string? ModelVersion);
