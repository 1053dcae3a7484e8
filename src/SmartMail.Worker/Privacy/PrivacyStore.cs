using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Privacy;

/// <summary>
/// The state database's side of a person's request: the keyed-hash index written with each decision, which model versions
/// learned from which examples, where a mail's rows are, and their erasure. Its own connection to the state database: on
/// SQLite (<c>state.db</c>) with <c>secure_delete</c> on, so erased rows are overwritten, not just unlinked; on the
/// PostgreSQL database a fleet shares, every instance's rows. Thread-safe.
/// </summary>
public sealed class PrivacyStore : IPrivacyStore, IDisposable
{
    private readonly bool _sqlite;
    private readonly ReopeningConnection _db;
    private readonly Lock _gate = new();

    /// <summary>Opens (and if needed creates) the privacy tables in the state database at <paramref name="path"/>.</summary>
    /// <param name="path">The state database (<c>DataDirectory/state.db</c>).</param>
    /// <exception cref="StateStoreException">The file cannot be opened or written.</exception>
    public PrivacyStore(string path)
        : this(ReopeningConnection.Sqlite(path), System.IO.Path.GetFullPath(path ?? throw new ArgumentNullException(nameof(path))), sqlite: true)
    {
    }

    /// <summary>
    /// Opens the privacy tables in <paramref name="store"/>'s database: its SQLite file, or the PostgreSQL database a fleet
    /// shares (where the schema's migrations made them), so that a person's request finds and erases every instance's rows.
    /// </summary>
    /// <param name="store">The state store.</param>
    /// <exception cref="StateStoreException">The database cannot be opened or written.</exception>
    public PrivacyStore(IStateStore store)
        : this(ReopeningConnection.For(store), store.Location, sqlite: store is SqliteStateStore)
    {
    }

    private PrivacyStore(Func<DbConnection> open, string location, bool sqlite)
    {
        Path = location;
        _sqlite = sqlite;
        try
        {
            _db = new ReopeningConnection(open);
            if (sqlite)
            {
                Execute("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=10000; PRAGMA secure_delete=ON;" + Schema);
            }
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The state store '{Path}' cannot be opened for privacy requests: {ex.Message}", ex);
        }
    }

    // The connection, opened again after a failure broke it (a database server restarted). Under _gate.
    private DbConnection Db => _db.Current;

    /// <summary>The database file (SQLite), or the server and database (PostgreSQL).</summary>
    public string Path { get; }

    /// <inheritdoc />
    /// <exception cref="StateStoreException">The database cannot be opened.</exception>
    public ComplianceFigures Figures()
    {
        try
        {
            return new ComplianceFigures(_db.OpenAnother());
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The state store '{Path}' cannot be opened for the compliance figures: {ex.Message}", ex);
        }
    }

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS privacy_mail (
            decision_id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, time_utc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS privacy_key (
            hash TEXT NOT NULL, kind TEXT NOT NULL, decision_id TEXT NOT NULL, PRIMARY KEY (hash, decision_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS privacy_key_decision ON privacy_key (decision_id);
        CREATE TABLE IF NOT EXISTS privacy_model (
            model_version TEXT NOT NULL, example_hash TEXT NOT NULL, PRIMARY KEY (example_hash, model_version)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS privacy_model_flag (
            model_version TEXT NOT NULL, request_id TEXT NOT NULL, examples INTEGER NOT NULL, time_utc TEXT NOT NULL,
            PRIMARY KEY (model_version, request_id));
        CREATE TABLE IF NOT EXISTS privacy_pending (
            fingerprint TEXT PRIMARY KEY, request_id TEXT NOT NULL, time_utc TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS retention_purge (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, cutoff_utc TEXT NOT NULL,
            examples INTEGER NOT NULL, summaries INTEGER NOT NULL);
        """;

    /// <inheritdoc />
    public void Index(IReadOnlyCollection<IndexedMail> mails)
    {
        ArgumentNullException.ThrowIfNull(mails);
        if (mails.Count == 0)
        {
            return;
        }
        lock (_gate)
        {
            const string Mail = "INSERT INTO privacy_mail (decision_id, mailbox, fingerprint, time_utc) VALUES (@d, @m, @fp, @t) " +
                "ON CONFLICT (decision_id) DO UPDATE SET mailbox = excluded.mailbox, fingerprint = excluded.fingerprint, time_utc = excluded.time_utc";
            const string Key = "INSERT INTO privacy_key (hash, kind, decision_id) VALUES (@h, @k, @d) ON CONFLICT DO NOTHING";
            using var tx = Db.BeginTransaction();
            // One set statement per table for the batch on PostgreSQL, not one per mail and key.
            var list = mails.ToList();
            tx.ExecuteRows(Mail, [.. list.Select(m => new (string, object?)[] { ("@d", m.Mail.DecisionId), ("@m", m.Mail.Mailbox), ("@fp", m.Mail.Fingerprint), ("@t", Time(m.Time)) })],
                i => list[i].Mail.DecisionId);
            tx.ExecuteRows(Key, [.. list.SelectMany(m => m.Keys.Select(k => new (string, object?)[] { ("@h", k.Hash), ("@k", k.Kind), ("@d", m.Mail.DecisionId) }))]);
            tx.Commit();
        }
    }

    /// <inheritdoc />
    public IReadOnlySet<string> IndexedDecisions()
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT decision_id FROM privacy_mail");
            using var r = cmd.ExecuteReader();
            var result = new HashSet<string>(StringComparer.Ordinal);
            while (r.Read())
            {
                result.Add(r.GetString(0));
            }
            return result;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<MailRef> FindByHash(IReadOnlyCollection<string> hashes, string? kind = null)
    {
        ArgumentNullException.ThrowIfNull(hashes);
        lock (_gate)
        {
            var result = new Dictionary<string, MailRef>(StringComparer.Ordinal);
            using var cmd = Command(null, "SELECT m.decision_id, m.mailbox, m.fingerprint FROM privacy_key k JOIN privacy_mail m ON m.decision_id = k.decision_id " +
                "WHERE k.hash = @h AND (CAST(@k AS TEXT) IS NULL OR k.kind = @k)");
            foreach (var hash in hashes)
            {
                Bind(cmd, ("@h", hash), ("@k", kind));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    result.TryAdd(r.GetString(0), new MailRef(r.GetString(1), r.GetString(2), r.GetString(0)));
                }
            }
            return [.. result.Values];
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> KeysOf(IReadOnlyCollection<MailRef> mails, string kind)
    {
        ArgumentNullException.ThrowIfNull(mails);
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT hash FROM privacy_key WHERE decision_id = @d AND kind = @k");
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var mail in mails)
            {
                Bind(cmd, ("@d", mail.DecisionId), ("@k", kind));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    result.Add(r.GetString(0));
                }
            }
            return [.. result];
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<MailRef> FindByText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var like = "%" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
        lock (_gate)
        {
            var result = new Dictionary<string, MailRef>(StringComparer.Ordinal);
            foreach (var sql in new[]
            {
                $"SELECT decision_id, mailbox, fingerprint FROM example WHERE decision_id IS NOT NULL AND (subject {Like} @t ESCAPE '\\' OR body {Like} @t ESCAPE '\\')",
                $"SELECT decision_id, mailbox, fingerprint FROM mail_summary WHERE subject {Like} @t ESCAPE '\\' OR sender {Like} @t ESCAPE '\\'",
            })
            {
                if (!TableExists(sql.Contains("FROM example", StringComparison.Ordinal) ? "example" : "mail_summary"))
                {
                    continue;
                }
                using var cmd = Command(null, sql);
                Bind(cmd, ("@t", like));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    result.TryAdd(r.GetString(0), new MailRef(r.GetString(1), r.GetString(2), r.GetString(0)));
                }
            }
            return [.. result.Values];
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<StorePlace> PlacesOf(MailRef mail, string exampleHash)
    {
        ArgumentNullException.ThrowIfNull(mail);
        lock (_gate)
        {
            var places = new List<StorePlace>();
            foreach (var (kind, table, where, detail) in Tables)
            {
                if (!TableExists(table))
                {
                    continue;
                }
                using var cmd = Command(null, $"SELECT COUNT(*) FROM {table} WHERE {where}");
                Bind(cmd, ("@d", mail.DecisionId), ("@m", mail.Mailbox), ("@fp", mail.Fingerprint));
                var count = Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
                if (count > 0)
                {
                    places.Add(new StorePlace(kind, $"state.db: {table}", count, detail));
                }
            }
            using (var cmd = Command(null, "SELECT model_version FROM privacy_model WHERE example_hash = @h ORDER BY model_version"))
            {
                Bind(cmd, ("@h", exampleHash));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    places.Add(new StorePlace(PlaceKind.Model, $"model {r.GetString(0)}", 1, "trained on this mail's example (text with CPR numbers and addresses redacted)"));
                }
            }
            return places;
        }
    }

    // Where a mail has rows, what each holds, and (in Erase) what becomes of it.
    private static readonly (string Kind, string Table, string Where, string Detail)[] Tables =
    [
        (PlaceKind.Ledger, "mail", "decision_id = @d", "ledger row: ids, state, decision record (pseudonymised on erasure: the exactly-once record stays)"),
        (PlaceKind.Summary, "mail_summary", "decision_id = @d", "web app row: subject (CPR masked), masked sender; full-text indexed"),
        (PlaceKind.Example, "example", "mailbox = @m AND fingerprint = @fp", "training text (CPR numbers and addresses redacted)"),
        (PlaceKind.Correction, "correction", "mailbox = @m AND fingerprint = @fp", "correction: labels, who corrected (no text of the mail; kept)"),
        (PlaceKind.Precision, "label_route", "mailbox = @m AND fingerprint = @fp", "realised-precision count (label, confidence)"),
        (PlaceKind.Thread, "thread", "decision_id = @d OR fingerprint = @fp", "thread memory: keyed hash of the Message-ID and where the thread went"),
        (PlaceKind.WebAction, "web_action", "decision_id = @d", "a caseworker's action in the web app"),
        (PlaceKind.Audit, "audit", "decision_id = @d OR (fingerprint = @fp AND mailbox = @m)", "audit rows: no CPR, no address, no text (kept: the legal record)"),
        (PlaceKind.Index, "privacy_mail", "decision_id = @d", "privacy index: keyed hashes only"),
    ];

    /// <inheritdoc />
    public MailRef? MailOf(string decisionId)
    {
        ArgumentNullException.ThrowIfNull(decisionId);
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT mailbox, fingerprint FROM mail WHERE decision_id = @d LIMIT 1");
            Bind(cmd, ("@d", decisionId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new MailRef(r.GetString(0), r.GetString(1), decisionId) : null;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<LedgerRow> LedgerOf(MailRef mail)
    {
        ArgumentNullException.ThrowIfNull(mail);
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT folder, uid, state, destination, decision_json FROM mail WHERE decision_id = @d ORDER BY updated_utc");
            Bind(cmd, ("@d", mail.DecisionId));
            using var r = cmd.ExecuteReader();
            var result = new List<LedgerRow>();
            while (r.Read())
            {
                result.Add(new LedgerRow(r.GetString(0), r.GetString(1), (MailState)r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3),
                    r.IsDBNull(4) ? null : r.GetString(4)));
            }
            return result;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> ModelsTrainedOn(IReadOnlyCollection<string> exampleHashes)
    {
        ArgumentNullException.ThrowIfNull(exampleHashes);
        lock (_gate)
        {
            var result = new SortedSet<string>(StringComparer.Ordinal);
            using var cmd = Command(null, "SELECT model_version FROM privacy_model WHERE example_hash = @h");
            foreach (var h in exampleHashes)
            {
                Bind(cmd, ("@h", h));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    result.Add(r.GetString(0));
                }
            }
            return [.. result];
        }
    }

    /// <inheritdoc />
    public void RecordTraining(string modelVersion, IReadOnlyCollection<string> exampleHashes)
    {
        ArgumentNullException.ThrowIfNull(modelVersion);
        ArgumentNullException.ThrowIfNull(exampleHashes);
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            using var cmd = Command(tx, "INSERT INTO privacy_model (model_version, example_hash) VALUES (@v, @h) ON CONFLICT DO NOTHING");
            foreach (var h in exampleHashes)
            {
                Bind(cmd, ("@v", modelVersion), ("@h", h));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <inheritdoc />
    public int EraseMails(IReadOnlyCollection<MailRef> mails, IReadOnlyCollection<string> flagModels, string requestId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(mails);
        ArgumentNullException.ThrowIfNull(flagModels);
        lock (_gate)
        {
            var changed = 0;
            var tables = Tables.Where(t => t.Table is not ("mail" or "audit" or "correction") && TableExists(t.Table)).ToList();
            using (var tx = Db.BeginTransaction())
            {
                foreach (var mail in mails)
                {
                    changed += PseudonymiseLedger(tx, mail, now);
                    foreach (var (_, table, where, _) in tables)
                    {
                        using var cmd = Command(tx, $"DELETE FROM {table} WHERE {where}");
                        Bind(cmd, ("@d", mail.DecisionId), ("@m", mail.Mailbox), ("@fp", mail.Fingerprint));
                        changed += cmd.ExecuteNonQuery();
                    }
                    using var keys = Command(tx, "DELETE FROM privacy_key WHERE decision_id = @d");
                    Bind(keys, ("@d", mail.DecisionId));
                    keys.ExecuteNonQuery();
                    using var pending = Command(tx, "DELETE FROM privacy_pending WHERE fingerprint = @fp");
                    Bind(pending, ("@fp", mail.Fingerprint));
                    pending.ExecuteNonQuery();
                }
                using var flag = Command(tx, "INSERT INTO privacy_model_flag (model_version, request_id, examples, time_utc) VALUES (@v, @r, @n, @t) ON CONFLICT DO NOTHING");
                foreach (var version in flagModels)
                {
                    Bind(flag, ("@v", version), ("@r", requestId), ("@n", mails.Count), ("@t", Time(now)));
                    flag.ExecuteNonQuery();
                }
                tx.Commit();
            }
            Compact();
            return changed;
        }
    }

    /// <inheritdoc />
    public void AddPending(IReadOnlyCollection<string> fingerprints, string requestId, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            using var cmd = Command(tx, "INSERT INTO privacy_pending (fingerprint, request_id, time_utc) VALUES (@fp, @r, @t) " +
                "ON CONFLICT (fingerprint) DO UPDATE SET request_id = excluded.request_id, time_utc = excluded.time_utc");
            foreach (var fp in fingerprints)
            {
                Bind(cmd, ("@fp", fp), ("@r", requestId), ("@t", Time(now)));
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<(MailRef Mail, string RequestId)> PendingDelivered()
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT DISTINCT m.decision_id, m.mailbox, m.fingerprint, p.request_id FROM privacy_pending p " +
                "JOIN mail m ON m.fingerprint = p.fingerprint WHERE m.state >= @delivered");
            Bind(cmd, ("@delivered", (int)MailState.Delivered));
            using var r = cmd.ExecuteReader();
            var result = new List<(MailRef, string)>();
            while (r.Read())
            {
                result.Add((new MailRef(r.GetString(1), r.GetString(2), r.GetString(0)), r.GetString(3)));
            }
            return result;
        }
    }

    /// <inheritdoc />
    public int PendingCount()
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT COUNT(*) FROM privacy_pending");
            return Convert.ToInt32(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<(string ModelVersion, int Requests, DateTimeOffset Last)> FlaggedModels()
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT model_version, COUNT(*), MAX(time_utc) FROM privacy_model_flag GROUP BY model_version ORDER BY model_version");
            using var r = cmd.ExecuteReader();
            var result = new List<(string, int, DateTimeOffset)>();
            while (r.Read())
            {
                result.Add((r.GetString(0), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), Parse(r.GetString(2))));
            }
            return result;
        }
    }

    /// <inheritdoc />
    public void RecordPurge(DateTimeOffset now, DateTimeOffset cutoff, int examples, int summaries)
    {
        lock (_gate)
        {
            using var cmd = Command(null, "INSERT INTO retention_purge (time_utc, cutoff_utc, examples, summaries) VALUES (@t, @c, @e, @s)");
            Bind(cmd, ("@t", Time(now)), ("@c", Time(cutoff)), ("@e", examples), ("@s", summaries));
            cmd.ExecuteNonQuery();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<RetentionPurge> Purges(int take)
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT time_utc, cutoff_utc, examples, summaries FROM retention_purge ORDER BY seq DESC LIMIT @n");
            Bind(cmd, ("@n", take));
            using var r = cmd.ExecuteReader();
            var result = new List<RetentionPurge>();
            while (r.Read())
            {
                result.Add(new RetentionPurge(Parse(r.GetString(0)), Parse(r.GetString(1)), r.GetInt32(2), r.GetInt32(3)));
            }
            return result;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _db.Dispose();

    // The ledger row stays (exactly-once: the same mail must not be routed twice), stripped of everything taken from the
    // mail: the decision record keeps ids, label, destination and model, not the Message-ID, reason or attachment terms.
    private int PseudonymiseLedger(DbTransaction tx, MailRef mail, DateTimeOffset now)
    {
        var rows = new List<(string Folder, long UidValidity, string Uid, string? Json)>();
        using (var read = Command(tx, "SELECT folder, uidvalidity, uid, decision_json FROM mail WHERE decision_id = @d"))
        {
            Bind(read, ("@d", mail.DecisionId));
            using var r = read.ExecuteReader();
            while (r.Read())
            {
                rows.Add((r.GetString(0), r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
            }
        }
        using var update = Command(tx, "UPDATE mail SET decision_json = @j, error = NULL WHERE decision_id = @d AND folder = @f AND uidvalidity = @v AND uid = @u");
        foreach (var row in rows)
        {
            Bind(update, ("@j", Stripped(row.Json, now)), ("@d", mail.DecisionId), ("@f", row.Folder), ("@v", row.UidValidity), ("@u", row.Uid));
            update.ExecuteNonQuery();
        }
        return rows.Count;
    }

    private static readonly string[] KeptFields = ["decisionId", "mailbox", "fingerprint", "source", "label", "kle", "confidence", "threshold",
        "modelVersion", "rule", "destination", "decidedUtc"];

    /// <summary>A decision record with only what was decided: no field taken from the mail.</summary>
    /// <param name="json">The decision record.</param>
    /// <param name="now">When it was erased.</param>
    /// <returns>The stripped record.</returns>
    public static string Stripped(string? json, DateTimeOffset now)
    {
        var kept = new JsonObject();
        if (json is not null && JsonNode.Parse(json) is JsonObject original)
        {
            foreach (var field in KeptFields)
            {
                if (original[field] is { } value)
                {
                    kept[field] = value.DeepClone();
                }
            }
        }
        kept["erasedUtc"] = now.UtcDateTime;
        return kept.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    // Deleted rows are overwritten (secure_delete); the full-text index drops deleted entries; the write-ahead log, which
    // still holds the pages as they were, is checkpointed and truncated (retried while a reader holds it).
    private void Compact()
    {
        if (!_sqlite)
        {
            return; // PostgreSQL: deleted rows leave every query at commit; (auto)vacuum reclaims their space later
        }
        if (TableExists("summary_text"))
        {
            Execute("INSERT INTO summary_text (summary_text) VALUES ('optimize')");
        }
        for (var attempt = 0; attempt < 300; attempt++)
        {
            using var cmd = Command(null, "PRAGMA wal_checkpoint(TRUNCATE)");
            using var r = cmd.ExecuteReader();
            if (r.Read() && r.GetInt32(0) == 0)
            {
                return;
            }
            Thread.Sleep(100);
        }
    }

    private bool TableExists(string table)
    {
        if (!_sqlite)
        {
            return true; // PostgreSQL's schema has every table from its migrations
        }
        using var cmd = Command(null, "SELECT COUNT(*) FROM sqlite_master WHERE name = @n");
        Bind(cmd, ("@n", table));
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    private DbCommand Command(DbTransaction? tx, string sql)
    {
        var cmd = Db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    private static void Bind(DbCommand cmd, params (string Name, object? Value)[] parameters)
    {
        cmd.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            cmd.Bind(name, value);
        }
    }

    // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same.
    private string Like => _sqlite ? "LIKE" : "ILIKE";

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    private void Execute(string sql)
    {
        using var cmd = Db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
