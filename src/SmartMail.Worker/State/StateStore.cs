using System.Data.Common;
using System.Globalization;

namespace SmartMail.Worker.State;

/// <summary>
/// The exactly-once ledger and the audit trail, over ADO.NET: one implementation of <see cref="IStateStore"/> for every
/// provider, with a <see cref="StateDialect"/> for what differs (<see cref="SqliteStateStore"/>, the embedded default: WAL,
/// synchronous=FULL, so a step is recorded durably before the next one acts; <see cref="PostgreSqlStateStore"/> for a fleet).
/// Mails are keyed by (mailbox, folder, UIDVALIDITY, UID) and also found by fingerprint. The audit table is append-only:
/// triggers refuse UPDATE and DELETE. The schema is versioned and migrated forward when the store opens. Thread-safe.
/// </summary>
public abstract partial class StateStore : IStateStore
{
    private readonly Func<bool, DbConnection> _connect;
    private DbConnection _connection;
    private readonly Lock _gate = new();
    private AuditJsonLinesWriter? _auditFile;
    private readonly Dictionary<string, DbCommand> _prepared = new(StringComparer.Ordinal);
    private readonly byte[] _threadKey;
    private readonly string _metaScope;

    // Opens the store: connects, migrates the schema forward, and reads (or makes) the instance id and the thread key.
    private protected StateStore(StateDialect dialect, Func<bool, DbConnection> connect, string location, string? auditFile, string? instanceId)
    {
        Dialect = dialect;
        _connect = connect;
        Location = location;
        Ledger = new MailLedger(this);
        if (auditFile is not null)
        {
            _auditFile = new AuditJsonLinesWriter(System.IO.Path.GetFullPath(auditFile));
        }
        try
        {
            _connection = Connect(writer: true);
            SchemaVersion = dialect.Migrate(_connection, location);
            // SQLite: one file per instance, its id kept in it. A shared database: the instance names itself, and its own values are its own.
            InstanceId = instanceId ?? LoadInstanceId();
            _metaScope = instanceId is null ? "" : $"instance:{instanceId}:";
            _threadKey = LoadThreadKey();
        }
        catch (Exception ex) when (ex is DbException or IOException or UnauthorizedAccessException && ex is not StateStoreException)
        {
            _connection?.Dispose();
            throw new StateStoreException($"The state store '{location}' cannot be opened for writing: {ex.Message}", ex);
        }
    }

    internal StateDialect Dialect { get; }

    /// <summary>The schema version of the database (this binary's newest, once opened).</summary>
    public int SchemaVersion { get; }

    /// <inheritdoc />
    public string Location { get; }

    /// <inheritdoc />
    public DbConnection OpenConnection()
    {
        try
        {
            return Connect(writer: false);
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The state store '{Location}' cannot be opened: {ex.Message}", ex);
        }
    }

    private DbConnection Connect(bool writer)
    {
        var connection = _connect(writer);
        try
        {
            connection.Open();
            Dialect.Opened(connection, writer);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // After a failure that broke the writer's connection (a database server restarted), the next step opens a new one.
    private void EnsureOpen()
    {
        if (_connection.State == System.Data.ConnectionState.Open)
        {
            return;
        }
        foreach (var cmd in _prepared.Values)
        {
            cmd.Dispose();
        }
        _prepared.Clear();
        _connection.Dispose();
        try
        {
            _connection = Connect(writer: true);
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The state store '{Location}' cannot be reached: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// This ledger's instance id: eight hex digits made once, when the store is created, and kept in it. IMAP claim
    /// keywords carry it, so an instance tells its own claims (to resume after a crash) from another instance's (to leave alone).
    /// </summary>
    public string InstanceId { get; }

    /// <inheritdoc />
    public bool SharedByInstances => _metaScope.Length > 0;

    /// <summary>The ledger row for <paramref name="key"/>, if any.</summary>
    /// <param name="key">The mail's key.</param>
    /// <returns>The record or <see langword="null"/>.</returns>
    public MailRecord? Get(MailKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_gate)
        {
            EnsureOpen();
            using var cmd = Command($"SELECT {RecordColumns} FROM mail WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid=@u", key);
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
    // "+state": the state is filtered, never searched by. Without statistics SQLite's planner chose the (mailbox, state)
    // index here and walked every delivered mail of the mailbox for each new mail (a 5,000-mail backlog ran at half
    // speed); the fingerprint finds one or two rows.
    internal const string FindDeliveredSql = $"SELECT {DeliveredColumns} " +
        "FROM mail WHERE mailbox=@m AND fingerprint=@fp AND +state IN (@delivered, @acknowledged) ORDER BY created_utc LIMIT 1";

    public MailRecord? FindDelivered(string mailbox, string fingerprint)
    {
        lock (_gate)
        {
            EnsureOpen();
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = FindDeliveredSql;
            cmd.Bind("@m", mailbox);
            cmd.Bind("@fp", fingerprint);
            cmd.Bind("@delivered", (int)MailState.Delivered);
            cmd.Bind("@acknowledged", (int)MailState.Acknowledged);
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadDelivered(mailbox, r) : null;
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
            EnsureOpen();
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT DISTINCT mailbox, fingerprint, decision_id, destination, decision_json FROM mail " +
                "WHERE substr(fingerprint, 1, length(@p)) = @p AND state >= @decided ORDER BY mailbox";
            cmd.Bind("@p", fingerprintPrefix.ToLowerInvariant());
            cmd.Bind("@decided", (int)MailState.Decided);
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
            EnsureOpen();
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT folder, uidvalidity, uid, fingerprint, decision_id, state, destination, decision_json, attempts, marker FROM mail " +
                "WHERE mailbox=@m AND state<@s";
            cmd.Bind("@m", mailbox);
            cmd.Bind("@s", (int)MailState.Acknowledged);
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

    // One step of the state machine: the body's writes and the audit rows it adds commit in one database transaction, and
    // the same rows then go to the JSON-lines file, under the same lock (file order is table order). A body that throws
    // (an illegal transition) rolls everything back. Database failures become StateStoreException (fail closed).
    // batched: the body's writes through Write may travel in one round trip (StateStore.Batch.cs); its reads go through
    // Prepared or StatesOf, which send what is queued first.
    internal void Transact(Action<DbTransaction, List<AuditEntry>> body, bool batched = false)
    {
        lock (_gate)
        {
            EnsureOpen();
            var audit = new List<AuditEntry>();
            try
            {
                using var tx = _connection.BeginTransaction();
                if (batched)
                {
                    BeginBatch(tx);
                }
                body(tx, audit);
                InsertAudit(tx, audit);
                Flush();
                tx.Commit();
            }
            catch (DbException ex)
            {
                throw new StateStoreException($"The state store '{Location}' cannot record: {ex.Message}", ex);
            }
            finally
            {
                EndBatch();
            }
            if (audit.Count > 0)
            {
                _auditFile?.AppendAll(audit);
            }
        }
    }

    internal MailState? StateOf(DbTransaction tx, MailKey key)
    {
        var cmd = Prepared("SELECT state FROM mail WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid=@u" + Dialect.LockRow, key, tx);
        return cmd.ExecuteScalar() is { } state and not DBNull ? (MailState)Convert.ToInt32(state, CultureInfo.InvariantCulture) : null;
    }

    internal void Update(DbTransaction tx, MailKey key, string assignments, params (string Name, object? Value)[] parameters) =>
        Write(tx, $"UPDATE mail SET {assignments} WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid=@u", key, parameters);

    // Updates the mail only while it is in one of the states (the transition's check and its write in one statement);
    // onNoRow runs when it is in none of them or has no row (in a batched step, once the batch has run).
    internal void UpdateIn(DbTransaction tx, MailKey key, string states, string assignments, Action onNoRow, params (string Name, object? Value)[] parameters) =>
        Write(tx, UpdateInSql(states, assignments), key, parameters, onNoRow);

    // UpdateIn for many mails, each with its own values (one set statement on PostgreSQL); onFewer runs when one of them
    // is in none of the states or has no row.
    internal void UpdateEachIn(DbTransaction tx, IReadOnlyList<(MailKey Key, (string Name, object? Value)[] Parameters)> mails, string states,
        string assignments, Action onFewer) =>
        WriteRows(tx, UpdateInSql(states, assignments), [.. mails.Select(m => (KeyParameters(m.Key)).Concat(m.Parameters).ToArray())],
            i => mails[i].Key, onFewer);

    private static string UpdateInSql(string states, string assignments) =>
        $"UPDATE mail SET {assignments} WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid=@u AND state IN ({states})";

    // Inserts the mail as seen with one attempt, or counts one more attempt.
    internal void Insert(DbTransaction tx, MailKey key, string fingerprint, string decisionId, MailState state, DateTimeOffset now) =>
        InsertAll(tx, [(key, fingerprint, decisionId)], state, now);

    // Insert for many mails (one set statement on PostgreSQL).
    internal void InsertAll(DbTransaction tx, IReadOnlyList<(MailKey Key, string Fingerprint, string DecisionId)> mails, MailState state, DateTimeOffset now) =>
        WriteRows(tx, """
            INSERT INTO mail (mailbox, folder, uidvalidity, uid, fingerprint, decision_id, state, attempts, created_utc, updated_utc)
            VALUES (@m, @f, @v, @u, @fp, @d, @s, 1, @t, @t)
            ON CONFLICT (mailbox, folder, uidvalidity, uid) DO UPDATE SET attempts = mail.attempts + 1, updated_utc = excluded.updated_utc
            """, [.. mails.Select(m => (KeyParameters(m.Key)).Concat([("@fp", m.Fingerprint), ("@d", m.DecisionId), ("@s", (int)state), ("@t", Time(now))]).ToArray())],
            i => mails[i].Key, null);

    // The web app's row for each decision, written in the decisions' transaction. A later decision of the same mail
    // (quarantine after failed deliveries) takes its place but keeps the subject and sender read the first time.
    internal void WriteSummaries(DbTransaction tx, IReadOnlyList<(DecisionToRecord Decision, SummaryToRecord Summary)> decisions) =>
        WriteRows(tx, """
            INSERT INTO mail_summary (decision_id, mailbox, fingerprint, subject, sender, received_utc, seen_utc, decided_utc, source,
                                      decided_label, label, confidence, model_version, outcome, state, destination)
            VALUES (@d, @m, @fp, @subj, @from, @recv,
                    COALESCE((SELECT created_utc FROM mail WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid=@u), @t),
                    @t, @src, @l, @l, @c, @mv, @o, 'pending', @dest)
            ON CONFLICT (decision_id) DO UPDATE SET
                subject = CASE WHEN excluded.subject = '' THEN mail_summary.subject ELSE excluded.subject END,
                sender = CASE WHEN excluded.sender = '' THEN mail_summary.sender ELSE excluded.sender END,
                decided_utc = excluded.decided_utc, delivered_utc = NULL, latency_ms = NULL, source = excluded.source,
                decided_label = excluded.decided_label, label = excluded.label, confidence = excluded.confidence,
                model_version = excluded.model_version, outcome = excluded.outcome, state = 'pending', destination = excluded.destination
            """, [.. decisions.Select(x => SummaryParameters(x.Decision, x.Summary))], i => decisions[i].Decision.Audit.DecisionId, null);

    private static (string Name, object? Value)[] SummaryParameters(DecisionToRecord d, SummaryToRecord s)
    {
        var now = d.Audit.Time;
        return [.. KeyParameters(d.Key), ("@d", d.Audit.DecisionId), ("@fp", d.Audit.Fingerprint),
            ("@subj", SmartMail.Core.Privacy.Cpr.Redact(s.Subject)), ("@from", s.Sender), ("@recv", Time(s.Received ?? now)), ("@t", Time(now)),
            ("@src", s.Source), ("@l", s.Label), ("@c", s.Confidence), ("@mv", s.ModelVersion), ("@o", s.Outcome), ("@dest", d.Destination)];
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
            var cmd = Prepared("DELETE FROM mail_summary WHERE decided_utc < @t AND state NOT IN ('pending', 'triage', 'quarantined')", null, tx);
            cmd.Bind("@t", Time(cutoff));
            deleted = cmd.ExecuteNonQuery();
        });
        return deleted;
    }

    // RequestAction: the action's row at its intent (new, or asked again after it finished).
    internal void RequestAction(DbTransaction tx, WebActionRecord action, DateTimeOffset now)
    {
        var cmd = Prepared("""
            INSERT INTO web_action (decision_id, kind, label, user_name, mailbox, from_destination, to_destination, step, requested_utc, updated_utc)
            VALUES (@d, @k, @l, @user, @m, @from, @to, 'intent', @t, @t)
            ON CONFLICT (decision_id, kind, label) DO UPDATE SET step = 'intent', error = NULL, user_name = @user,
                from_destination = @from, to_destination = @to, requested_utc = @t, updated_utc = @t
            """, null, tx);
        cmd.Bind("@d", action.DecisionId);
        cmd.Bind("@k", action.Kind);
        cmd.Bind("@l", action.Label);
        cmd.Bind("@user", action.User);
        cmd.Bind("@m", action.Mailbox);
        cmd.Bind("@from", action.FromDestination);
        cmd.Bind("@to", action.ToDestination);
        cmd.Bind("@t", Time(now));
        cmd.ExecuteNonQuery();
    }

    // The step of the action's row; null when there is none.
    internal WebActionStep? ActionStepOf(DbTransaction tx, WebActionRecord action)
    {
        var cmd = Prepared("SELECT step FROM web_action WHERE decision_id = @d AND kind = @k AND label = @l", null, tx);
        return Bind(cmd, action).ExecuteScalar() is string step ? ParseStep(step) : null;
    }

    internal WebActionRecord ReadAction(DbTransaction tx, WebActionRecord action) =>
        ReadActions(tx, "decision_id = @d AND kind = @k AND label = @l", ("@d", action.DecisionId), ("@k", action.Kind), ("@l", action.Label))[0];

    // The web-app row of the action's mail, once the action is done.
    internal void SummaryAfterAction(DbTransaction tx, WebActionRecord action, string state, string? label)
    {
        var cmd = Prepared("UPDATE mail_summary SET state = @s, label = @l, destination = @dest WHERE decision_id = @d", null, tx);
        cmd.Bind("@s", state);
        cmd.Bind("@l", (object?)label ?? DBNull.Value);
        cmd.Bind("@dest", action.ToDestination);
        cmd.Bind("@d", action.DecisionId);
        cmd.ExecuteNonQuery();
    }

    // The furthest state any row of this mail (by fingerprint) reached: what a correction of it is checked against.
    internal MailState? FurthestStateOf(DbTransaction tx, string mailbox, string fingerprint)
    {
        var cmd = Prepared("SELECT MAX(CASE WHEN state IN (@delivered, @acknowledged) THEN state + 10 ELSE state END) FROM mail WHERE mailbox = @m AND fingerprint = @fp",
            null, tx);
        cmd.Bind("@m", mailbox);
        cmd.Bind("@fp", fingerprint);
        cmd.Bind("@delivered", (int)MailState.Delivered);
        cmd.Bind("@acknowledged", (int)MailState.Acknowledged);
        return cmd.ExecuteScalar() is { } value and not DBNull && Convert.ToInt32(value, CultureInfo.InvariantCulture) is var state
            ? (MailState)(state >= 10 ? state - 10 : state) : null;
    }

    /// <summary>Web actions recorded but not finished (a crash, a mailbox that was down): the recovery finishes them.</summary>
    /// <returns>The actions, oldest first.</returns>
    public IReadOnlyList<WebActionRecord> OpenActions()
    {
        lock (_gate)
        {
            EnsureOpen();
            return ReadActions(null, "step IN ('intent', 'moved') ORDER BY requested_utc");
        }
    }

    internal void UpdateAction(DbTransaction tx, WebActionRecord action, WebActionStep step, string? error, DateTimeOffset now)
    {
        var cmd = Prepared("UPDATE web_action SET step = @s, error = @e, updated_utc = @t WHERE decision_id = @d AND kind = @k AND label = @l", null, tx);
        cmd.Bind("@s", StepName(step));
        cmd.Bind("@e", (object?)error ?? DBNull.Value);
        cmd.Bind("@t", Time(now));
        Bind(cmd, action).ExecuteNonQuery();
    }

    private static DbCommand Bind(DbCommand cmd, WebActionRecord action)
    {
        cmd.Bind("@d", action.DecisionId);
        cmd.Bind("@k", action.Kind);
        cmd.Bind("@l", action.Label);
        return cmd;
    }

    // A web action's step as stored: its lower-case name.
    internal static string StepName(WebActionStep step) => step.ToString().ToLowerInvariant();

    internal static WebActionStep ParseStep(string step) => Enum.Parse<WebActionStep>(step, ignoreCase: true);

    private List<WebActionRecord> ReadActions(DbTransaction? tx, string where, params (string Name, object Value)[] parameters)
    {
        using var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT decision_id, kind, label, user_name, mailbox, from_destination, to_destination, step, error FROM web_action WHERE " + where;
        foreach (var (name, value) in parameters)
        {
            cmd.Bind(name, value);
        }
        using var r = cmd.ExecuteReader();
        var result = new List<WebActionRecord>();
        while (r.Read())
        {
            result.Add(new WebActionRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
                r.GetString(6), ParseStep(r.GetString(7)), r.IsDBNull(8) ? null : r.GetString(8)));
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
            EnsureOpen();
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT folder, uidvalidity, uid FROM mail WHERE mailbox=@m AND state<@s AND retry_utc>@t";
            cmd.Bind("@m", mailbox);
            cmd.Bind("@s", (int)MailState.Delivered);
            cmd.Bind("@t", Time(now));
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
        ArgumentNullException.ThrowIfNull(audit);
        Transact((_, rows) => rows.Add(audit)); // committed, then mirrored to audit.jsonl like every other row
    }

    /// <summary>All audit rows, oldest first.</summary>
    /// <returns>The rows.</returns>
    public IReadOnlyList<AuditEntry> ReadAudit()
    {
        lock (_gate)
        {
            EnsureOpen();
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
            EnsureOpen();
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT state, COUNT(*) FROM mail GROUP BY state";
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<MailState, int>();
            while (r.Read())
            {
                result[(MailState)r.GetInt32(0)] = Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture);
            }
            return result;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the store's connection.</summary>
    /// <param name="disposing">Called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }
        foreach (var cmd in _prepared.Values)
        {
            cmd.Dispose();
        }
        _connection.Dispose();
    }

    // The per-mail statements of the state machine, prepared once per connection and reused (callers hold _gate and do not
    // dispose them): preparing the same SQL again for every mail and step cost ~15 % of the IMAP backlog throughput.
    private DbCommand Prepared(string sql, MailKey? key, DbTransaction? tx)
    {
        Flush(); // a read (or a write run at once) in a batched step sees the step's writes so far
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

    // The step's audit rows, in order (one set statement on PostgreSQL; identity values follow the rows' order).
    private void InsertAudit(DbTransaction tx, IReadOnlyList<AuditEntry> rows) =>
        WriteRows(tx, """
            INSERT INTO audit (time_utc, decision_id, fingerprint, mailbox, source, label, confidence, top_json, threshold,
                               model_version, rule, reason, destination, outcome, by_whom)
            VALUES (@t, @d, @fp, @m, @src, @l, @c, @top, @th, @mv, @r, @why, @dest, @o, @by)
            """,
            [.. rows.Select(a => new (string Name, object? Value)[] { ("@t", Time(a.Time)), ("@d", a.DecisionId), ("@fp", a.Fingerprint),
                ("@m", a.Mailbox), ("@src", a.Source), ("@l", a.Label), ("@c", a.Confidence), ("@top", a.TopJson), ("@by", a.By),
                ("@th", a.Threshold), ("@mv", a.ModelVersion), ("@r", a.Rule), ("@why", a.Reason), ("@dest", a.Destination), ("@o", a.Outcome) })],
            null, null);

    private DbCommand Command(string sql, MailKey key)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        BindKey(cmd, key);
        return cmd;
    }

    // The mail's key, as every statement on the mail table names it: @m, @f, @v, @u.
    private static void BindKey(DbCommand cmd, MailKey key)
    {
        foreach (var (name, value) in KeyParameters(key))
        {
            cmd.Bind(name, value);
        }
    }

    // What Read takes, in its order (Get, GetMany).
    private const string RecordColumns = "fingerprint, decision_id, state, destination, decision_json, attempts, marker";

    // What ReadDelivered takes, in its order (FindDelivered, FindDeliveredMany).
    private const string DeliveredColumns = "folder, uidvalidity, uid, fingerprint, decision_id, state, destination, decision_json, attempts";

    private static MailRecord ReadDelivered(string mailbox, DbDataReader r) =>
        new(new MailKey(mailbox, r.GetString(0), r.GetInt64(1), r.GetString(2)), r.GetString(3), r.GetString(4), (MailState)r.GetInt32(5),
            r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetInt32(8));

    private static MailRecord Read(MailKey key, DbDataReader r) =>
        new(key, r.GetString(0), r.GetString(1), (MailState)r.GetInt32(2), r.IsDBNull(3) ? null : r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5), r.IsDBNull(6) ? null : r.GetString(6));

    internal static string Time(DateTimeOffset t) => StateTime.Format(t);

    /// <summary>A value this instance keeps about itself (for example the lease generation it last held).</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    /// <exception cref="StateStoreException">The store cannot be read.</exception>
    public string? GetMeta(string key) => WithConnection("cannot be read", connection =>
    {
        using var cmd = connection.Command("SELECT value FROM meta WHERE key = @key", ("@key", _metaScope + key));
        return cmd.ExecuteScalar() as string;
    });

    // A value of the database itself (not of this instance): the schema version.
    internal string? GetMetaRaw(string key)
    {
        string? value = null;
        Transact((tx, _) =>
        {
            using var cmd = tx.Connection!.Command("SELECT value FROM meta WHERE key = @key", ("@key", key));
            cmd.Transaction = tx;
            value = cmd.ExecuteScalar() as string;
        });
        return value;
    }

    // The step of a web action's row (tests, tools); null when there is none.
    internal WebActionStep? ActionStep(WebActionRecord action)
    {
        WebActionStep? step = null;
        Transact((tx, _) => step = ActionStepOf(tx, action));
        return step;
    }

    /// <summary>Records <paramref name="value"/> under <paramref name="key"/> durably.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="StateStoreException">The store cannot record.</exception>
    public void SetMeta(string key, string value) => WithConnection("cannot record", connection =>
    {
        using var cmd = connection.Command("INSERT INTO meta (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ("@key", _metaScope + key), ("@value", value));
        return cmd.ExecuteNonQuery();
    });

    // One statement outside a transaction on the writer's connection; a database failure is a StateStoreException ('what' failed).
    private T WithConnection<T>(string what, Func<DbConnection, T> body)
    {
        lock (_gate)
        {
            EnsureOpen();
            try
            {
                return body(_connection);
            }
            catch (DbException ex)
            {
                throw new StateStoreException($"The state store '{Location}' {what}: {ex.Message}", ex);
            }
        }
    }

    // The first open makes the id (ON CONFLICT DO NOTHING: a concurrent first open keeps the one row); later opens only read it,
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
        insert.CommandText = "INSERT INTO meta (key, value) VALUES ('instance_id', @id) ON CONFLICT (key) DO NOTHING";
        insert.Bind("@id", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4)));
        insert.ExecuteNonQuery();
        return (string)select.ExecuteScalar()!; // inserted just above
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
