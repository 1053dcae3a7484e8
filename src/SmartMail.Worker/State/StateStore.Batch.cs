using System.Data.Common;
using System.Globalization;

namespace SmartMail.Worker.State;

// The per-batch round trips of the state machine. Each step of a mail (begin, decide, claim, deliver, acknowledge) used to
// be a statement per mail; on a server database every statement is a round trip, and the IMAP backlog on PostgreSQL ran at
// a third of SQLite's speed. Now a batch's reads are one query each (GetMany, FindDeliveredMany, the states Begin locks),
// and on a provider that batches statements (DbConnection.CanCreateBatch: Npgsql, not Microsoft.Data.Sqlite; the same
// test as DbCommands.ExecuteAll) a batched step's writes go to the server as one DbBatch just before the transaction commits. SQLite runs every statement at once, as before: it is in the process, a statement costs
// no round trip.
public abstract partial class StateStore
{
    // At most this many values in one IN (...) list (SQLite allows 32,766 parameters, PostgreSQL 65,535).
    private const int InListChunk = 500;

    // The writes of the batched step in progress, and per write how many rows it must change and what to do when it
    // changed fewer (null: nothing).
    private DbBatch? _batch;
    private readonly List<(int Rows, Action? OnFewer)> _batchChecks = [];

    /// <summary>The ledger rows of <paramref name="keys"/> that exist (one query per mailbox folder and 500 keys).</summary>
    /// <param name="keys">The mails' keys.</param>
    /// <returns>The records by key; a key without a row is absent.</returns>
    public IReadOnlyDictionary<MailKey, MailRecord> GetMany(IReadOnlyCollection<MailKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<MailKey, MailRecord>();
        lock (_gate)
        {
            EnsureOpen();
            foreach (var (folder, uids) in ByFolder(keys))
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = $"SELECT {RecordColumns}, uid FROM mail " +
                    $"WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid IN ({InList(cmd, "@u", uids)})";
                BindFolder(cmd, folder);
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var key = folder with { Uid = r.GetString(7) };
                    found[key] = Read(key, r);
                }
            }
        }
        return found;
    }

    /// <summary>For each of <paramref name="fingerprints"/>, the mail of <paramref name="mailbox"/> really delivered before with it, if any (<see cref="FindDelivered"/> for many).</summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprints">The fingerprints.</param>
    /// <returns>The earliest such record by fingerprint; a fingerprint never delivered is absent.</returns>
    public IReadOnlyDictionary<string, MailRecord> FindDeliveredMany(string mailbox, IReadOnlyCollection<string> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(fingerprints);
        var found = new Dictionary<string, MailRecord>(StringComparer.Ordinal);
        lock (_gate)
        {
            EnsureOpen();
            foreach (var chunk in fingerprints.Distinct(StringComparer.Ordinal).Chunk(InListChunk))
            {
                using var cmd = _connection.CreateCommand();
                // "+state": filtered, never searched by (FindDeliveredSql says why); earliest first, so the first row per fingerprint is kept.
                cmd.CommandText = $"SELECT {DeliveredColumns} FROM mail " +
                    $"WHERE mailbox=@m AND fingerprint IN ({InList(cmd, "@fp", chunk)}) AND +state IN (@delivered, @acknowledged) ORDER BY created_utc";
                cmd.Bind("@m", mailbox);
                cmd.Bind("@delivered", (int)MailState.Delivered);
                cmd.Bind("@acknowledged", (int)MailState.Acknowledged);
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var fingerprint = r.GetString(3);
                    found.TryAdd(fingerprint, ReadDelivered(mailbox, r));
                }
            }
        }
        return found;
    }

    // The states of the mails that have rows, read (and on PostgreSQL locked) in the step's transaction.
    internal Dictionary<MailKey, MailState> StatesOf(DbTransaction tx, IReadOnlyCollection<MailKey> keys)
    {
        Flush();
        var states = new Dictionary<MailKey, MailState>();
        foreach (var (folder, uids) in ByFolder(keys))
        {
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = $"SELECT uid, state FROM mail WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid IN ({InList(cmd, "@u", uids)})" + Dialect.LockRow;
            BindFolder(cmd, folder);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                states[folder with { Uid = r.GetString(0) }] = (MailState)r.GetInt32(1);
            }
        }
        return states;
    }

    // A step whose writes may travel together: where the provider batches, the writes made through Write are sent in one
    // round trip before the commit (or before any read the body makes through Prepared or StatesOf).
    private void BeginBatch(DbTransaction tx)
    {
        if (_connection.CanCreateBatch)
        {
            _batch = _connection.CreateBatch();
            _batch.Transaction = tx;
        }
    }

    private void EndBatch()
    {
        _batch?.Dispose();
        _batch = null;
        _batchChecks.Clear();
    }

    // Updates the mails of keys (one statement per mailbox folder and 500 keys) while each is in one of the states; onFewer
    // runs when a statement changed fewer rows than it has keys (one of them is in none of the states, or has no row).
    internal void UpdateAllIn(DbTransaction tx, IReadOnlyCollection<MailKey> keys, string states, string assignments, Action onFewer,
        params (string Name, object? Value)[] parameters)
    {
        foreach (var (folder, uids) in ByFolder(keys))
        {
            var (list, values) = InList("@u", uids);
            Write(tx, $"UPDATE mail SET {assignments} WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid IN ({list}) AND state IN ({states})",
                null, [.. FolderParameters(folder), .. values, .. parameters], onFewer, uids.Length);
        }
    }

    // The delivery of the mails' current decisions was recorded: their web-app rows leave "pending" (latency = delivered - seen).
    internal void SummariesDelivered(DbTransaction tx, IReadOnlyCollection<MailKey> keys, DateTimeOffset now)
    {
        foreach (var (folder, uids) in ByFolder(keys))
        {
            var (list, values) = InList("@u", uids);
            Write(tx, $"""
                UPDATE mail_summary SET state = outcome, delivered_utc = @t, latency_ms = {Dialect.MillisBetween("seen_utc", "@t")}
                WHERE decision_id IN (SELECT decision_id FROM mail WHERE mailbox=@m AND folder=@f AND uidvalidity=@v AND uid IN ({list}))
                  AND delivered_utc IS NULL
                """, null, [.. FolderParameters(folder), .. values, ("@t", Time(now))]);
        }
    }

    // Runs a write of the state machine now, or adds it to the batched step in progress. onFewer runs when the write changed
    // fewer than rows rows (a conditional transition that did not match): at once, or once the batch has run (the
    // transaction still open).
    private void Write(DbTransaction? tx, string sql, MailKey? key, (string Name, object? Value)[] parameters, Action? onFewer = null, int rows = 1)
    {
        if (_batch is { } batch && tx is not null)
        {
            batch.Add(sql, key is null ? parameters : [.. KeyParameters(key), .. parameters]);
            _batchChecks.Add((rows, onFewer));
            return;
        }
        var cmd = Prepared(sql, key, tx);
        foreach (var (name, value) in parameters)
        {
            cmd.Bind(name, value);
        }
        if (cmd.ExecuteNonQuery() < rows)
        {
            onFewer?.Invoke();
        }
    }

    // Runs sql once for each of rows: in a batched step on PostgreSQL as set statements (SetWrites; keyOf as there), else
    // row by row through Write. onFewer runs when the rows changed fewer table rows than there are rows (each must change one).
    private void WriteRows(DbTransaction tx, string sql, IReadOnlyList<(string Name, object? Value)[]> rows, Func<int, object>? keyOf, Action? onFewer)
    {
        if (_batch is { } batch && SetWrites.Supported(_connection))
        {
            foreach (var (statement, count) in SetWrites.For(sql, rows, keyOf))
            {
                batch.Add(statement.Sql, statement.Parameters);
                _batchChecks.Add((count, onFewer));
            }
            return;
        }
        foreach (var row in rows)
        {
            Write(tx, sql, null, row, onFewer);
        }
    }

    // Sends the batched writes (one round trip), then runs the check of the first write that changed no row.
    private void Flush()
    {
        if (_batch is not { BatchCommands.Count: > 0 } batch)
        {
            return;
        }
        batch.ExecuteNonQuery();
        Action? failed = null;
        for (var i = 0; i < batch.BatchCommands.Count && failed is null; i++)
        {
            if (_batchChecks[i] is { OnFewer: { } check } && batch.BatchCommands[i].RecordsAffected < _batchChecks[i].Rows)
            {
                failed = check;
            }
        }
        batch.BatchCommands.Clear();
        _batchChecks.Clear();
        failed?.Invoke();
    }

    // The mail's key, as every statement on the mail table names it: @m, @f, @v, @u.
    private static (string Name, object? Value)[] KeyParameters(MailKey key) => [.. FolderParameters(key), ("@u", key.Uid)];

    // The keys grouped by mailbox folder (the key with an empty uid), in chunks of at most InListChunk uids.
    private static IEnumerable<(MailKey Folder, string[] Uids)> ByFolder(IEnumerable<MailKey> keys) =>
        keys.GroupBy(k => k with { Uid = "" })
            .SelectMany(g => g.Select(k => k.Uid).Distinct(StringComparer.Ordinal).Chunk(InListChunk).Select(uids => (g.Key, uids)));

    private static (string Name, object? Value)[] FolderParameters(MailKey folder) =>
        [("@m", folder.Mailbox), ("@f", folder.Folder), ("@v", folder.UidValidity)];

    private static void BindFolder(DbCommand cmd, MailKey folder)
    {
        foreach (var (name, value) in FolderParameters(folder))
        {
            cmd.Bind(name, value);
        }
    }

    // "@p0, @p1, …" with each value bound.
    private static string InList(DbCommand cmd, string prefix, string[] values)
    {
        var (list, parameters) = InList(prefix, values);
        foreach (var (name, value) in parameters)
        {
            cmd.Bind(name, value);
        }
        return list;
    }

    // "@p0, @p1, …" and the parameters that bind them.
    private static (string List, (string Name, object? Value)[] Parameters) InList(string prefix, string[] values)
    {
        var parameters = values.Select((v, i) => (prefix + i.ToString(CultureInfo.InvariantCulture), (object?)v)).ToArray();
        return (string.Join(", ", parameters.Select(p => p.Item1)), parameters);
    }
}
