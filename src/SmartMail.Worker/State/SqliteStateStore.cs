using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SmartMail.Worker.State;

/// <summary>
/// The exactly-once ledger and the audit trail in one SQLite file (WAL, synchronous=FULL: a step is recorded
/// durably before the next one acts). Mails are keyed by (mailbox, folder, UIDVALIDITY, UID) and also found
/// by fingerprint. The audit table is append-only: triggers refuse UPDATE and DELETE. Thread-safe.
/// </summary>
public sealed partial class SqliteStateStore : IStateStore
{
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();
    private AuditJsonLinesWriter? _auditFile;
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);
    private readonly byte[] _threadKey;

    /// <summary>Opens (and if needed creates) the store at <paramref name="path"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="busyTimeout">How long a write waits for a lock held by another process; default 10 s.</param>
    /// <param name="auditFile">Where every audit row is mirrored as a JSON line; none when <see langword="null"/> (see <see cref="MirrorAuditTo"/>).</param>
    /// <exception cref="StateStoreException">The file cannot be opened or written.</exception>
    public SqliteStateStore(string path, TimeSpan? busyTimeout = null, string? auditFile = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Path = System.IO.Path.GetFullPath(path);
        Ledger = new MailLedger(this);
        if (auditFile is not null)
        {
            _auditFile = new AuditJsonLinesWriter(System.IO.Path.GetFullPath(auditFile));
        }
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
            _connection.Open();
            var timeout = (int)(busyTimeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds;
            Execute($"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout={timeout};");
            Execute(Schema);
            AddColumnIfMissing("mail", "marker", "TEXT");
            AddColumnIfMissing("mail", "retry_utc", "TEXT");
            AddColumnIfMissing("audit", "by_whom", "TEXT");
            Execute(ThreadSchema);
            InstanceId = LoadInstanceId();
            _threadKey = LoadThreadKey();
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new StateStoreException($"The state store '{Path}' cannot be opened for writing: {ex.Message}", ex);
        }
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public string Location => Path;

    /// <inheritdoc />
    public System.Data.Common.DbConnection OpenConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true }.ToString());
        try
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA busy_timeout=5000";
            cmd.ExecuteNonQuery();
            return connection;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw new StateStoreException($"The state store '{Path}' cannot be opened: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// This ledger's instance id: eight hex digits made once, when the store is created, and kept in it. IMAP claim
    /// keywords carry it, so an instance tells its own claims (to resume after a crash) from another instance's (to leave alone).
    /// </summary>
    public string InstanceId { get; }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS mail (
            mailbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid TEXT NOT NULL,
            fingerprint TEXT NOT NULL, decision_id TEXT NOT NULL, state INTEGER NOT NULL,
            destination TEXT, decision_json TEXT, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, marker TEXT,
            created_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (mailbox, folder, uidvalidity, uid));
        CREATE INDEX IF NOT EXISTS mail_fingerprint ON mail (mailbox, fingerprint);
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, decision_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL, mailbox TEXT NOT NULL, source TEXT NOT NULL, label TEXT, confidence REAL,
            top_json TEXT, threshold REAL, model_version TEXT, rule TEXT, reason TEXT NOT NULL,
            destination TEXT NOT NULL, outcome TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """ + OversightSchema;

    // What the web app lists, written with the decision (MailLedger.Decide) and its delivery (Deliver, Recover): one row per
    // decision with the subject (CPR numbers masked) and the sender, and the web app's actions (intent first, then the move,
    // then completion). Indexed for the pages' queries (mailbox+state+time, mailbox+time, decision-id prefix by the key; subject and
    // sender parts by an FTS5 trigram index, summary_text).
    private const string OversightSchema = """
        CREATE INDEX IF NOT EXISTS mail_decision ON mail (decision_id);
        CREATE INDEX IF NOT EXISTS mail_state ON mail (mailbox, state);
        CREATE INDEX IF NOT EXISTS audit_decision ON audit (decision_id);
        CREATE TABLE IF NOT EXISTS mail_summary (
            decision_id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL,
            subject TEXT NOT NULL, sender TEXT NOT NULL, received_utc TEXT NOT NULL, seen_utc TEXT NOT NULL,
            decided_utc TEXT NOT NULL, delivered_utc TEXT, source TEXT NOT NULL, decided_label TEXT, label TEXT,
            confidence REAL, model_version TEXT, outcome TEXT NOT NULL, state TEXT NOT NULL, destination TEXT NOT NULL, latency_ms INTEGER);
        CREATE INDEX IF NOT EXISTS summary_state ON mail_summary (mailbox, state, received_utc);
        CREATE INDEX IF NOT EXISTS summary_received ON mail_summary (mailbox, received_utc);
        CREATE INDEX IF NOT EXISTS summary_window ON mail_summary (mailbox, decided_utc, outcome, latency_ms);
        CREATE INDEX IF NOT EXISTS summary_model ON mail_summary (source, outcome, decided_label);
        CREATE VIRTUAL TABLE IF NOT EXISTS summary_text USING fts5 (subject, sender, content='mail_summary', tokenize='trigram');
        CREATE TRIGGER IF NOT EXISTS summary_text_insert AFTER INSERT ON mail_summary BEGIN
            INSERT INTO summary_text (rowid, subject, sender) VALUES (new.rowid, new.subject, new.sender); END;
        CREATE TRIGGER IF NOT EXISTS summary_text_update AFTER UPDATE OF subject, sender ON mail_summary BEGIN
            INSERT INTO summary_text (summary_text, rowid, subject, sender) VALUES ('delete', old.rowid, old.subject, old.sender);
            INSERT INTO summary_text (rowid, subject, sender) VALUES (new.rowid, new.subject, new.sender); END;
        CREATE TRIGGER IF NOT EXISTS summary_text_delete AFTER DELETE ON mail_summary BEGIN
            INSERT INTO summary_text (summary_text, rowid, subject, sender) VALUES ('delete', old.rowid, old.subject, old.sender); END;
        CREATE TABLE IF NOT EXISTS web_action (
            decision_id TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, user_name TEXT NOT NULL, mailbox TEXT NOT NULL,
            from_destination TEXT NOT NULL, to_destination TEXT NOT NULL, step TEXT NOT NULL, error TEXT,
            requested_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (decision_id, kind, label));
        CREATE INDEX IF NOT EXISTS web_action_open ON web_action (step);
        """;

    /// <summary>The ledger row for <paramref name="key"/>, if any.</summary>
    /// <param name="key">The mail's key.</param>
    /// <returns>The record or <see langword="null"/>.</returns>
    public MailRecord? Get(MailKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            using var cmd = Command("SELECT fingerprint, decision_id, state, destination, decision_json, attempts, marker FROM mail " +
                "WHERE mailbox=$m AND folder=$f AND uidvalidity=$v AND uid=$u", key);
            using var r = cmd.ExecuteReader();
            return r.Read() ? Read(key, r) : null;
        }
    }

    /// <summary>
    /// A mail with this fingerprint in this mailbox that was really delivered before (delivered or acknowledged), under any key.
    /// Mail that left undelivered (gone, claimed by another instance) does not count.
    /// </summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <returns>The record or <see langword="null"/>.</returns>
    public MailRecord? FindDelivered(string mailbox, string fingerprint)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT folder, uidvalidity, uid, fingerprint, decision_id, state, destination, decision_json, attempts FROM mail " +
                "WHERE mailbox=$m AND fingerprint=$fp AND state IN ($delivered, $acknowledged) ORDER BY created_utc LIMIT 1";
            cmd.Parameters.AddWithValue("$m", mailbox);
            cmd.Parameters.AddWithValue("$fp", fingerprint);
            cmd.Parameters.AddWithValue("$delivered", (int)MailState.Delivered);
            cmd.Parameters.AddWithValue("$acknowledged", (int)MailState.Acknowledged);
            using var r = cmd.ExecuteReader();
            if (!r.Read())
            {
                return null;
            }
            var key = new MailKey(mailbox, r.GetString(0), r.GetInt64(1), r.GetString(2));
            return new MailRecord(key, r.GetString(3), r.GetString(4), (MailState)r.GetInt32(5),
                r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetInt32(8));
        }
    }

    /// <summary>Decided mails in the ledger whose fingerprint starts with <paramref name="fingerprintPrefix"/> (for corrections reported by hand).</summary>
    /// <param name="fingerprintPrefix">A fingerprint or its first characters.</param>
    /// <returns>Mailbox, fingerprint, decision id, destination and decision record of each.</returns>
    public IReadOnlyList<(string Mailbox, string Fingerprint, string DecisionId, string? Destination, string? DecisionJson)> FindDecided(string fingerprintPrefix)
    {
        ArgumentNullException.ThrowIfNull(fingerprintPrefix);
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT DISTINCT mailbox, fingerprint, decision_id, destination, decision_json FROM mail " +
                "WHERE substr(fingerprint, 1, length($p)) = $p AND state >= $decided ORDER BY mailbox";
            cmd.Parameters.AddWithValue("$p", fingerprintPrefix.ToLowerInvariant());
            cmd.Parameters.AddWithValue("$decided", (int)MailState.Decided);
            using var r = cmd.ExecuteReader();
            var result = new List<(string, string, string, string?, string?)>();
            while (r.Read())
            {
                result.Add((r.GetString(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4)));
            }
            return result;
        }
    }

    /// <summary>Mails of <paramref name="mailbox"/> not yet acknowledged.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <returns>The records.</returns>
    public IReadOnlyList<MailRecord> ListUnfinished(string mailbox)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT folder, uidvalidity, uid, fingerprint, decision_id, state, destination, decision_json, attempts, marker FROM mail " +
                "WHERE mailbox=$m AND state<$s";
            cmd.Parameters.AddWithValue("$m", mailbox);
            cmd.Parameters.AddWithValue("$s", (int)MailState.Acknowledged);
            using var r = cmd.ExecuteReader();
            var result = new List<MailRecord>();
            while (r.Read())
            {
                result.Add(new MailRecord(new MailKey(mailbox, r.GetString(0), r.GetInt64(1), r.GetString(2)), r.GetString(3), r.GetString(4),
                    (MailState)r.GetInt32(5), r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetInt32(8),
                    r.IsDBNull(9) ? null : r.GetString(9)));
            }
            return result;
        }
    }

    /// <summary>
    /// The mail's state machine over this store: the one writer of mail rows, and of their audit rows with them.
    /// </summary>
    public MailLedger Ledger { get; }

    /// <summary>The file every audit row is mirrored to as a JSON line after its transaction commits (none when <see langword="null"/>).</summary>
    public string? AuditFile => _auditFile?.Path;

    /// <summary>Mirrors every audit row written from now on to <paramref name="path"/> as a JSON line (a no-op when it does already).</summary>
    /// <param name="path">The <c>audit.jsonl</c> file.</param>
    public void MirrorAuditTo(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        lock (_gate)
        {
            if (_auditFile is null || _auditFile.Path != System.IO.Path.GetFullPath(path))
            {
                _auditFile = new AuditJsonLinesWriter(System.IO.Path.GetFullPath(path));
            }
        }
    }

    // One step of the state machine: the body's writes and the audit rows it adds commit in one SQLite transaction, and
    // the same rows then go to the JSON-lines file, under the same lock (file order is table order). A body that throws
    // (an illegal transition) rolls everything back. SQLite failures become StateStoreException (fail closed).
    internal void Transact(Action<SqliteTransaction, List<AuditEntry>> body)
    {
        lock (_gate)
        {
            var audit = new List<AuditEntry>();
            try
            {
                using var tx = _connection.BeginTransaction();
                body(tx, audit);
                foreach (var row in audit)
                {
                    InsertAudit(row, tx);
                }
                tx.Commit();
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot record: {ex.Message}", ex);
            }
            if (audit.Count > 0)
            {
                _auditFile?.AppendAll(audit);
            }
        }
    }

    internal MailState? StateOf(SqliteTransaction tx, MailKey key)
    {
        var cmd = Prepared("SELECT state FROM mail WHERE mailbox=$m AND folder=$f AND uidvalidity=$v AND uid=$u", key, tx);
        return cmd.ExecuteScalar() is long state ? (MailState)state : null;
    }

    internal void Update(SqliteTransaction tx, MailKey key, string assignments, params (string Name, object? Value)[] parameters)
    {
        var cmd = Prepared($"UPDATE mail SET {assignments} WHERE mailbox=$m AND folder=$f AND uidvalidity=$v AND uid=$u", key, tx);
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        cmd.ExecuteNonQuery();
    }

    // Inserts the mail as seen with one attempt, or counts one more attempt.
    internal void Insert(SqliteTransaction tx, MailKey key, string fingerprint, string decisionId, MailState state, DateTimeOffset now)
    {
        var cmd = Prepared("""
            INSERT INTO mail (mailbox, folder, uidvalidity, uid, fingerprint, decision_id, state, attempts, created_utc, updated_utc)
            VALUES ($m, $f, $v, $u, $fp, $d, $s, 1, $t, $t)
            ON CONFLICT (mailbox, folder, uidvalidity, uid) DO UPDATE SET attempts = attempts + 1, updated_utc = $t
            """, key, tx);
        cmd.Parameters.AddWithValue("$fp", fingerprint);
        cmd.Parameters.AddWithValue("$d", decisionId);
        cmd.Parameters.AddWithValue("$s", (int)state);
        cmd.Parameters.AddWithValue("$t", Time(now));
        cmd.ExecuteNonQuery();
    }

    // The web app's row for a decision, written in the decision's transaction. A later decision of the same mail (quarantine
    // after failed deliveries) takes its place but keeps the subject and sender read the first time.
    internal void WriteSummary(SqliteTransaction tx, MailKey key, string decisionId, string fingerprint, string destination, SummaryToRecord s,
        DateTimeOffset now)
    {
        var cmd = Prepared("""
            INSERT INTO mail_summary (decision_id, mailbox, fingerprint, subject, sender, received_utc, seen_utc, decided_utc, source,
                                      decided_label, label, confidence, model_version, outcome, state, destination)
            VALUES ($d, $m, $fp, $subj, $from, $recv,
                    COALESCE((SELECT created_utc FROM mail WHERE mailbox=$m AND folder=$f AND uidvalidity=$v AND uid=$u), $t),
                    $t, $src, $l, $l, $c, $mv, $o, 'pending', $dest)
            ON CONFLICT (decision_id) DO UPDATE SET
                subject = CASE WHEN excluded.subject = '' THEN subject ELSE excluded.subject END,
                sender = CASE WHEN excluded.sender = '' THEN sender ELSE excluded.sender END,
                decided_utc = $t, delivered_utc = NULL, latency_ms = NULL, source = $src, decided_label = $l, label = $l, confidence = $c,
                model_version = $mv, outcome = $o, state = 'pending', destination = $dest
            """, key, tx);
        cmd.Parameters.AddWithValue("$d", decisionId);
        cmd.Parameters.AddWithValue("$fp", fingerprint);
        cmd.Parameters.AddWithValue("$subj", SmartMail.Core.Privacy.Cpr.Redact(s.Subject));
        cmd.Parameters.AddWithValue("$from", s.Sender);
        cmd.Parameters.AddWithValue("$recv", Time(s.Received ?? now));
        cmd.Parameters.AddWithValue("$t", Time(now));
        cmd.Parameters.AddWithValue("$src", s.Source);
        cmd.Parameters.AddWithValue("$l", (object?)s.Label ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$c", (object?)s.Confidence ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$mv", (object?)s.ModelVersion ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$o", s.Outcome);
        cmd.Parameters.AddWithValue("$dest", destination);
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Deletes the web app's rows (sender, masked subject) of mail last decided before <paramref name="cutoff"/>, except
    /// mail still waiting for a person (<c>pending</c>, <c>triage</c>, <c>quarantined</c>): personal data is kept no
    /// longer than <c>Learning:RetentionDays</c>, like example text. The ledger and the audit trail are not touched.
    /// </summary>
    /// <param name="cutoff">Rows decided before this go.</param>
    /// <returns>How many rows were deleted.</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public int PurgeSummaries(DateTimeOffset cutoff)
    {
        var deleted = 0;
        Transact((tx, _) =>
        {
            var cmd = Prepared("DELETE FROM mail_summary WHERE decided_utc < $t AND state NOT IN ('pending', 'triage', 'quarantined')", null, tx);
            cmd.Parameters.AddWithValue("$t", Time(cutoff));
            deleted = cmd.ExecuteNonQuery();
        });
        return deleted;
    }

    // The delivery of the mail's current decision was recorded: its web-app row leaves "pending" (latency = delivered - seen).
    internal void SummaryDelivered(SqliteTransaction tx, MailKey key, DateTimeOffset now)
    {
        var cmd = Prepared("""
            UPDATE mail_summary SET state = outcome, delivered_utc = $t, latency_ms = CAST((julianday($t) - julianday(seen_utc)) * 86400000.0 AS INTEGER)
            WHERE decision_id = (SELECT decision_id FROM mail WHERE mailbox=$m AND folder=$f AND uidvalidity=$v AND uid=$u) AND delivered_utc IS NULL
            """, key, tx);
        cmd.Parameters.AddWithValue("$t", Time(now));
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Records the intent of a web action before anything is done (idempotent by decision id, kind and label): while an action
    /// with the same three is open (<c>intent</c>, <c>moved</c>), a second call returns that row unchanged, so the action is
    /// performed once. A finished one (<c>done</c>, <c>failed</c>) is asked again: the caller checks first, by where the mail
    /// is, that it is not a repeat of what was done.
    /// </summary>
    /// <param name="action">The action (step <c>intent</c>).</param>
    /// <param name="now">The time.</param>
    /// <returns>The action's row as it is now.</returns>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public WebActionRecord BeginAction(WebActionRecord action, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        lock (_gate)
        {
            try
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = """
                    INSERT INTO web_action (decision_id, kind, label, user_name, mailbox, from_destination, to_destination, step, requested_utc, updated_utc)
                    VALUES ($d, $k, $l, $user, $m, $from, $to, 'intent', $t, $t)
                    ON CONFLICT (decision_id, kind, label) DO UPDATE SET step = 'intent', error = NULL, user_name = $user,
                        from_destination = $from, to_destination = $to, requested_utc = $t, updated_utc = $t
                        WHERE step IN ('failed', 'done')
                    """;
                cmd.Parameters.AddWithValue("$d", action.DecisionId);
                cmd.Parameters.AddWithValue("$k", action.Kind);
                cmd.Parameters.AddWithValue("$l", action.Label);
                cmd.Parameters.AddWithValue("$user", action.User);
                cmd.Parameters.AddWithValue("$m", action.Mailbox);
                cmd.Parameters.AddWithValue("$from", action.FromDestination);
                cmd.Parameters.AddWithValue("$to", action.ToDestination);
                cmd.Parameters.AddWithValue("$t", Time(now));
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot record: {ex.Message}", ex);
            }
            return ReadActions("decision_id = $d AND kind = $k AND label = $l",
                ("$d", action.DecisionId), ("$k", action.Kind), ("$l", action.Label))[0];
        }
    }

    /// <summary>Records the step a web action reached (<c>moved</c>, <c>failed</c>).</summary>
    /// <param name="action">The action.</param>
    /// <param name="step">The step.</param>
    /// <param name="error">Why it failed (no personal data).</param>
    /// <param name="now">The time.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public void SetActionStep(WebActionRecord action, string step, string? error, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        Transact((tx, _) => UpdateAction(tx, action, step, error, now));
    }

    /// <summary>
    /// Completes a web action in one transaction: the action is done, the mail's web-app row shows where it is now, and the
    /// audit rows (naming the user) are written.
    /// </summary>
    /// <param name="action">The action.</param>
    /// <param name="state">The mail's state now (<c>routed</c>, <c>corrected</c>, <c>triage</c>).</param>
    /// <param name="label">Its label now.</param>
    /// <param name="audit">The audit rows.</param>
    /// <param name="now">The time.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public void CompleteAction(WebActionRecord action, string state, string? label, IReadOnlyList<AuditEntry> audit, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(audit);
        Transact((tx, rows) =>
        {
            UpdateAction(tx, action, "done", null, now);
            var cmd = Prepared("UPDATE mail_summary SET state = $s, label = $l, destination = $dest WHERE decision_id = $d", null, tx);
            cmd.Parameters.AddWithValue("$s", state);
            cmd.Parameters.AddWithValue("$l", (object?)label ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$dest", action.ToDestination);
            cmd.Parameters.AddWithValue("$d", action.DecisionId);
            cmd.ExecuteNonQuery();
            rows.AddRange(audit);
        });
    }

    /// <summary>Web actions recorded but not finished (a crash, a mailbox that was down): the recovery finishes them.</summary>
    /// <returns>The actions, oldest first.</returns>
    public IReadOnlyList<WebActionRecord> OpenActions()
    {
        lock (_gate)
        {
            return ReadActions("step IN ('intent', 'moved') ORDER BY requested_utc");
        }
    }

    private void UpdateAction(SqliteTransaction tx, WebActionRecord action, string step, string? error, DateTimeOffset now)
    {
        var cmd = Prepared("UPDATE web_action SET step = $s, error = $e, updated_utc = $t WHERE decision_id = $d AND kind = $k AND label = $l", null, tx);
        cmd.Parameters.AddWithValue("$s", step);
        cmd.Parameters.AddWithValue("$e", (object?)error ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$t", Time(now));
        cmd.Parameters.AddWithValue("$d", action.DecisionId);
        cmd.Parameters.AddWithValue("$k", action.Kind);
        cmd.Parameters.AddWithValue("$l", action.Label);
        cmd.ExecuteNonQuery();
    }

    private List<WebActionRecord> ReadActions(string where, params (string Name, object Value)[] parameters)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT decision_id, kind, label, user_name, mailbox, from_destination, to_destination, step, error FROM web_action WHERE " + where;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }
        using var r = cmd.ExecuteReader();
        var result = new List<WebActionRecord>();
        while (r.Read())
        {
            result.Add(new WebActionRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
                r.GetString(6), r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8)));
        }
        return result;
    }

    /// <summary>Mails of <paramref name="mailbox"/> waiting for an unavailable destination, not due before a later time.</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="now">The time.</param>
    /// <returns>Their keys.</returns>
    public IReadOnlySet<MailKey> ListWaiting(string mailbox, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT folder, uidvalidity, uid FROM mail WHERE mailbox=$m AND state<$s AND retry_utc>$t";
            cmd.Parameters.AddWithValue("$m", mailbox);
            cmd.Parameters.AddWithValue("$s", (int)MailState.Delivered);
            cmd.Parameters.AddWithValue("$t", Time(now));
            using var r = cmd.ExecuteReader();
            var result = new HashSet<MailKey>();
            while (r.Read())
            {
                result.Add(new MailKey(mailbox, r.GetString(0), r.GetInt64(1), r.GetString(2)));
            }
            return result;
        }
    }

    /// <summary>
    /// Appends an audit row that is no step of a mail's life (a correction reported by a caseworker). Steps of a mail's life
    /// are written by <see cref="Ledger"/>, with their audit rows.
    /// </summary>
    /// <param name="audit">The row.</param>
    public void AppendAudit(AuditEntry audit)
    {
        lock (_gate)
        {
            InsertAudit(audit, null);
        }
    }

    /// <summary>All audit rows, oldest first.</summary>
    /// <returns>The rows.</returns>
    public IReadOnlyList<AuditEntry> ReadAudit()
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT time_utc, decision_id, fingerprint, mailbox, source, label, confidence, top_json, threshold, " +
                "model_version, rule, reason, destination, outcome, by_whom FROM audit ORDER BY seq";
            using var r = cmd.ExecuteReader();
            var result = new List<AuditEntry>();
            while (r.Read())
            {
                result.Add(new AuditEntry
                {
                    Time = DateTimeOffset.Parse(r.GetString(0), CultureInfo.InvariantCulture),
                    DecisionId = r.GetString(1),
                    Fingerprint = r.GetString(2),
                    Mailbox = r.GetString(3),
                    Source = r.GetString(4),
                    Label = r.IsDBNull(5) ? null : r.GetString(5),
                    Confidence = r.IsDBNull(6) ? null : r.GetFloat(6),
                    TopJson = r.IsDBNull(7) ? null : r.GetString(7),
                    Threshold = r.IsDBNull(8) ? null : r.GetFloat(8),
                    ModelVersion = r.IsDBNull(9) ? null : r.GetString(9),
                    Rule = r.IsDBNull(10) ? null : r.GetString(10),
                    Reason = r.GetString(11),
                    Destination = r.GetString(12),
                    Outcome = r.GetString(13),
                    By = r.IsDBNull(14) ? null : r.GetString(14),
                });
            }
            return result;
        }
    }

    /// <summary>Mails per state.</summary>
    /// <returns>Counts by state.</returns>
    public IReadOnlyDictionary<MailState, int> CountByState()
    {
        lock (_gate)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT state, COUNT(*) FROM mail GROUP BY state";
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<MailState, int>();
            while (r.Read())
            {
                result[(MailState)r.GetInt32(0)] = r.GetInt32(1);
            }
            return result;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var cmd in _prepared.Values)
        {
            cmd.Dispose();
        }
        _connection.Dispose();
    }

    // The per-mail statements of the state machine, prepared once per connection and reused (callers hold _gate and do not
    // dispose them): preparing the same SQL again for every mail and step cost ~15 % of the IMAP backlog throughput.
    private SqliteCommand Prepared(string sql, MailKey? key, SqliteTransaction? tx)
    {
        if (!_prepared.TryGetValue(sql, out var cmd))
        {
            cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            _prepared[sql] = cmd;
        }
        cmd.Transaction = tx;
        cmd.Parameters.Clear();
        if (key is not null)
        {
            BindKey(cmd, key);
        }
        return cmd;
    }

    private void InsertAudit(AuditEntry a, SqliteTransaction? tx)
    {
        var cmd = Prepared("""
            INSERT INTO audit (time_utc, decision_id, fingerprint, mailbox, source, label, confidence, top_json, threshold,
                               model_version, rule, reason, destination, outcome, by_whom)
            VALUES ($t, $d, $fp, $m, $src, $l, $c, $top, $th, $mv, $r, $why, $dest, $o, $by)
            """, null, tx);
        cmd.Parameters.AddWithValue("$t", Time(a.Time));
        cmd.Parameters.AddWithValue("$d", a.DecisionId);
        cmd.Parameters.AddWithValue("$fp", a.Fingerprint);
        cmd.Parameters.AddWithValue("$m", a.Mailbox);
        cmd.Parameters.AddWithValue("$src", a.Source);
        cmd.Parameters.AddWithValue("$l", (object?)a.Label ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$c", (object?)a.Confidence ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$top", (object?)a.TopJson ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$by", (object?)a.By ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$th", (object?)a.Threshold ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$mv", (object?)a.ModelVersion ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$r", (object?)a.Rule ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$why", a.Reason);
        cmd.Parameters.AddWithValue("$dest", a.Destination);
        cmd.Parameters.AddWithValue("$o", a.Outcome);
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, MailKey key)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        BindKey(cmd, key);
        return cmd;
    }

    // The mail's key, as every statement on the mail table names it: $m, $f, $v, $u.
    private static void BindKey(SqliteCommand cmd, MailKey key)
    {
        cmd.Parameters.AddWithValue("$m", key.Mailbox);
        cmd.Parameters.AddWithValue("$f", key.Folder);
        cmd.Parameters.AddWithValue("$v", key.UidValidity);
        cmd.Parameters.AddWithValue("$u", key.Uid);
    }

    private static MailRecord Read(MailKey key, SqliteDataReader r) =>
        new(key, r.GetString(0), r.GetString(1), (MailState)r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5), r.IsDBNull(6) ? null : r.GetString(6));

    internal static string Time(DateTimeOffset t) => StateTime.Format(t);

    private void AddColumnIfMissing(string table, string column, string type)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            Execute($"ALTER TABLE {table} ADD COLUMN {column} {type}");
        }
    }

    /// <summary>A value this instance keeps about itself (for example the lease generation it last held).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    public string? GetMeta(string key)
    {
        lock (_gate)
        {
            try
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "SELECT value FROM meta WHERE key = $key";
                cmd.Parameters.AddWithValue("$key", key);
                return cmd.ExecuteScalar() as string;
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot be read: {ex.Message}", ex);
            }
        }
    }

    /// <summary>Records <paramref name="value"/> under <paramref name="key"/> durably.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public void SetMeta(string key, string value)
    {
        lock (_gate)
        {
            try
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
                cmd.Parameters.AddWithValue("$key", key);
                cmd.Parameters.AddWithValue("$value", value);
                cmd.ExecuteNonQuery();
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot record: {ex.Message}", ex);
            }
        }
    }

    // The first open makes the id (INSERT OR IGNORE: a concurrent first open keeps the one row); later opens only read it,
    // so opening a store whose file another process holds locked still works (and fails closed at the first write).
    private string LoadInstanceId()
    {
        using var select = _connection.CreateCommand();
        select.CommandText = "SELECT value FROM meta WHERE key = 'instance_id'";
        if (select.ExecuteScalar() is string id)
        {
            return id;
        }
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT OR IGNORE INTO meta (key, value) VALUES ('instance_id', $id)";
        insert.Parameters.AddWithValue("$id", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
        insert.ExecuteNonQuery();
        return (string)select.ExecuteScalar()!; // inserted just above
    }

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

/// <summary>The state store cannot record a step: the worker must stop taking mail (fail closed).</summary>
public sealed class StateStoreException : IOException
{
    /// <summary>Creates the exception.</summary>
    public StateStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What failed.</param>
    public StateStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public StateStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
