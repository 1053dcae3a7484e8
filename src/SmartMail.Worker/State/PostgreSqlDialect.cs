namespace SmartMail.Worker.State;

/// <summary>
/// PostgreSQL, for a fleet of instances on one database. Times stay ISO 8601 text (the same queries as SQLite); the web app's
/// search uses ILIKE, which needs no extension. Row locks (<c>FOR UPDATE</c>) order two instances' steps on the same mail.
/// </summary>
internal sealed class PostgreSqlDialect : StateDialect
{
    /// <inheritdoc />
    public override string Name => "PostgreSql";

    /// <inheritdoc />
    public override IReadOnlyList<string> Migrations { get; } = [Version1, Version2, Version3];

    /// <inheritdoc />
    public override string MigrationLock => "SELECT pg_advisory_xact_lock(72657301)";

    /// <inheritdoc />
    public override string? RegistryLock => "SELECT pg_advisory_xact_lock(72657302)";

    /// <inheritdoc />
    public override string LockRow => " FOR UPDATE";

    /// <inheritdoc />
    public override string MillisBetween(string from, string to) =>
        $"CAST(EXTRACT(EPOCH FROM (CAST({to} AS timestamptz) - CAST({from} AS timestamptz))) * 1000 AS BIGINT)";

    // The ledger, audit, web summaries and actions, thread memory, and the learning loop's examples, corrections and thresholds.
    private const string Version1 = """
        CREATE TABLE mail (
            mailbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity BIGINT NOT NULL, uid TEXT NOT NULL,
            fingerprint TEXT NOT NULL, decision_id TEXT NOT NULL, state INTEGER NOT NULL,
            destination TEXT, decision_json TEXT, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, marker TEXT, retry_utc TEXT,
            created_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (mailbox, folder, uidvalidity, uid));
        CREATE INDEX mail_fingerprint ON mail (mailbox, fingerprint);
        CREATE INDEX mail_decision ON mail (decision_id);
        CREATE INDEX mail_state ON mail (mailbox, state);
        CREATE TABLE audit (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_utc TEXT NOT NULL, decision_id TEXT NOT NULL,
            fingerprint TEXT NOT NULL, mailbox TEXT NOT NULL, source TEXT NOT NULL, label TEXT, confidence REAL,
            top_json TEXT, threshold REAL, model_version TEXT, rule TEXT, reason TEXT NOT NULL,
            destination TEXT NOT NULL, outcome TEXT NOT NULL, by_whom TEXT);
        CREATE INDEX audit_decision ON audit (decision_id);
        CREATE FUNCTION smartmail_append_only() RETURNS trigger LANGUAGE plpgsql AS
            $body$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $body$;
        CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION smartmail_append_only();
        CREATE TABLE mail_summary (
            decision_id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL,
            subject TEXT NOT NULL, sender TEXT NOT NULL, received_utc TEXT NOT NULL, seen_utc TEXT NOT NULL,
            decided_utc TEXT NOT NULL, delivered_utc TEXT, source TEXT NOT NULL, decided_label TEXT, label TEXT,
            confidence REAL, model_version TEXT, outcome TEXT NOT NULL, state TEXT NOT NULL, destination TEXT NOT NULL, latency_ms BIGINT);
        CREATE INDEX summary_state ON mail_summary (mailbox, state, received_utc);
        CREATE INDEX summary_received ON mail_summary (mailbox, received_utc);
        CREATE INDEX summary_window ON mail_summary (mailbox, decided_utc, outcome, latency_ms);
        CREATE INDEX summary_model ON mail_summary (source, outcome, decided_label);
        CREATE TABLE web_action (
            decision_id TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL, user_name TEXT NOT NULL, mailbox TEXT NOT NULL,
            from_destination TEXT NOT NULL, to_destination TEXT NOT NULL, step TEXT NOT NULL, error TEXT,
            requested_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (decision_id, kind, label));
        CREATE INDEX web_action_open ON web_action (step);
        CREATE TABLE thread (
            message_hash TEXT NOT NULL, mailbox TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
            destination TEXT, decision_id TEXT, fingerprint TEXT, folder TEXT, updated_utc TEXT NOT NULL,
            PRIMARY KEY (message_hash, mailbox, kind));
        CREATE TABLE example (
            mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, decision_id TEXT, label TEXT, origin TEXT NOT NULL,
            decided_label TEXT, model_version TEXT, subject TEXT NOT NULL, body TEXT NOT NULL, mail_date TEXT,
            created_utc TEXT NOT NULL, updated_utc TEXT NOT NULL,
            PRIMARY KEY (mailbox, fingerprint));
        CREATE INDEX example_created ON example (created_utc);
        CREATE TABLE correction (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_utc TEXT NOT NULL, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL,
            decision_id TEXT, from_label TEXT, from_destination TEXT, to_label TEXT NOT NULL, location TEXT NOT NULL,
            by_whom TEXT NOT NULL, via TEXT NOT NULL, model_version TEXT, has_text INTEGER NOT NULL);
        CREATE INDEX correction_decision ON correction (decision_id);
        CREATE TRIGGER correction_append_only BEFORE UPDATE ON correction FOR EACH ROW EXECUTE FUNCTION smartmail_append_only();
        CREATE TABLE feedback_cursor (
            mailbox TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity BIGINT NOT NULL, last_uid BIGINT NOT NULL,
            PRIMARY KEY (mailbox, folder));
        CREATE TABLE label_route (
            mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, decision_id TEXT, model_version TEXT NOT NULL, label TEXT NOT NULL,
            confidence REAL, decided_utc TEXT NOT NULL, corrected_utc TEXT, corrected_to TEXT,
            PRIMARY KEY (mailbox, fingerprint));
        CREATE TABLE label_threshold (
            model_version TEXT NOT NULL, label TEXT NOT NULL, model_threshold REAL NOT NULL, tracked DOUBLE PRECISION NOT NULL, threshold REAL,
            automated INTEGER NOT NULL, wrong INTEGER NOT NULL, reason TEXT, updated_utc TEXT NOT NULL,
            PRIMARY KEY (model_version, label));
        CREATE TABLE threshold_change (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_utc TEXT NOT NULL, model_version TEXT NOT NULL, label TEXT NOT NULL,
            from_threshold REAL, to_threshold REAL, outcome TEXT NOT NULL, automated INTEGER NOT NULL, wrong INTEGER NOT NULL,
            reason TEXT NOT NULL);
        CREATE TRIGGER threshold_change_append_only BEFORE UPDATE ON threshold_change FOR EACH ROW EXECUTE FUNCTION smartmail_append_only();
        """;

    // A person's request (Privacy/PrivacyStore): the keyed-hash index, which models learned from which examples, erasures
    // waiting for delivery, retention purges.
    private const string Version2 = """
        CREATE TABLE privacy_mail (
            decision_id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, time_utc TEXT NOT NULL);
        CREATE TABLE privacy_key (
            hash TEXT NOT NULL, kind TEXT NOT NULL, decision_id TEXT NOT NULL, PRIMARY KEY (hash, decision_id));
        CREATE INDEX privacy_key_decision ON privacy_key (decision_id);
        CREATE TABLE privacy_model (
            model_version TEXT NOT NULL, example_hash TEXT NOT NULL, PRIMARY KEY (example_hash, model_version));
        CREATE TABLE privacy_model_flag (
            model_version TEXT NOT NULL, request_id TEXT NOT NULL, examples INTEGER NOT NULL, time_utc TEXT NOT NULL,
            PRIMARY KEY (model_version, request_id));
        CREATE TABLE privacy_pending (
            fingerprint TEXT PRIMARY KEY, request_id TEXT NOT NULL, time_utc TEXT NOT NULL);
        CREATE TABLE retention_purge (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_utc TEXT NOT NULL, cutoff_utc TEXT NOT NULL,
            examples INTEGER NOT NULL, summaries INTEGER NOT NULL);
        """;

    // The model registry (StateStore.Models): every version with its bundle, and the history whose last row names the version
    // served, so that a promotion on one instance reaches every instance.
    private const string Version3 = """
        CREATE TABLE model_version (
            version TEXT PRIMARY KEY, created_utc TEXT NOT NULL, status TEXT NOT NULL, labels INTEGER NOT NULL,
            routed_labels INTEGER NOT NULL, documents INTEGER NOT NULL, holdout_macro_f1 DOUBLE PRECISION, report TEXT, report_text TEXT,
            bundle BYTEA NOT NULL, added_utc TEXT NOT NULL);
        CREATE TABLE model_event (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, time_utc TEXT NOT NULL, action TEXT NOT NULL, version TEXT NOT NULL,
            previous TEXT, reason TEXT NOT NULL);
        CREATE TRIGGER model_event_append_only BEFORE UPDATE OR DELETE ON model_event FOR EACH ROW EXECUTE FUNCTION smartmail_append_only();
        """;
}
