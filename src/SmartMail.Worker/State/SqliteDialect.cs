using System.Data.Common;
using System.Globalization;

namespace SmartMail.Worker.State;

/// <summary>SQLite, the embedded default: one file, WAL, <c>synchronous=FULL</c> for the store's writer.</summary>
internal sealed class SqliteDialect(TimeSpan busyTimeout) : StateDialect
{
    /// <inheritdoc />
    public override string Name => "Sqlite";

    /// <inheritdoc />
    public override IReadOnlyList<string> Migrations { get; } = [Schema + ThreadSchema, ModelSchema];

    /// <inheritdoc />
    public override void Opened(DbConnection connection, bool writer) =>
        connection.Execute(writer
            ? $"PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout={(int)busyTimeout.TotalMilliseconds}; PRAGMA secure_delete=ON;"
            : "PRAGMA busy_timeout=5000; PRAGMA secure_delete=ON;");

    /// <inheritdoc />
    public override string MillisBetween(string from, string to) => $"CAST((julianday({to}) - julianday({from})) * 86400000.0 AS INTEGER)";

    // Files made before the columns were added get them (version 1 is everything before versioned migrations).
    protected override void Upgraded(DbConnection connection, DbTransaction tx, int version)
    {
        if (version != 1)
        {
            return;
        }
        foreach (var (table, column) in new[] { ("mail", "marker"), ("mail", "retry_utc"), ("audit", "by_whom") })
        {
            using var has = connection.Command($"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'");
            has.Transaction = tx;
            if (Convert.ToInt64(has.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                using var add = connection.Command($"ALTER TABLE {table} ADD COLUMN {column} TEXT");
                add.Transaction = tx;
                add.ExecuteNonQuery();
            }
        }
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS mail (
            mailbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid TEXT NOT NULL,
            fingerprint TEXT NOT NULL, decision_id TEXT NOT NULL, state INTEGER NOT NULL,
            destination TEXT, decision_json TEXT, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, marker TEXT,
            created_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (mailbox, folder, uidvalidity, uid));
        CREATE INDEX IF NOT EXISTS mail_fingerprint ON mail (mailbox, fingerprint);
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

    private const string ThreadSchema = """
        CREATE TABLE IF NOT EXISTS thread (
            message_hash TEXT NOT NULL, mailbox TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
            destination TEXT, decision_id TEXT, fingerprint TEXT, folder TEXT, updated_utc TEXT NOT NULL,
            PRIMARY KEY (message_hash, mailbox, kind));
        """;

    // The model registry (StateStore.Models): every version with its bundle, and the history whose last row names the version served.
    private const string ModelSchema = """
        CREATE TABLE IF NOT EXISTS model_version (
            version TEXT PRIMARY KEY, created_utc TEXT NOT NULL, status TEXT NOT NULL, labels INTEGER NOT NULL,
            routed_labels INTEGER NOT NULL, documents INTEGER NOT NULL, holdout_macro_f1 REAL, report TEXT, report_text TEXT,
            bundle BLOB NOT NULL, added_utc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS model_event (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, action TEXT NOT NULL, version TEXT NOT NULL,
            previous TEXT, reason TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS model_event_append_only_update BEFORE UPDATE ON model_event
            BEGIN SELECT RAISE(ABORT, 'the model history is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS model_event_append_only_delete BEFORE DELETE ON model_event
            BEGIN SELECT RAISE(ABORT, 'the model history is append-only'); END;
        """;
}
