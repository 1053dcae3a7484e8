using Microsoft.Data.Sqlite;
using SmartMail.Worker.Threads;

namespace SmartMail.Worker.State;

// The thread table: Message-ID (keyed hash) → where its thread went. Rows of kind 'routed' are written by the ledger in the
// decision's transaction and count only while the mail is delivered to that destination; rows of kind 'folder' are
// written when a message is seen in a department folder (a caseworker's answer, or a corrected mail).
public sealed partial class SqliteStateStore : IThreadRows
{
    private const string ThreadSchema = """
        CREATE TABLE IF NOT EXISTS thread (
            message_hash TEXT NOT NULL, mailbox TEXT NOT NULL, kind TEXT NOT NULL, label TEXT NOT NULL,
            destination TEXT, decision_id TEXT, fingerprint TEXT, folder TEXT, updated_utc TEXT NOT NULL,
            PRIMARY KEY (message_hash, mailbox, kind));
        """;

    private ThreadMemory? _threads;

    /// <summary>What this store remembers of threads (Message-ID → where the thread went). Does no I/O: the key is read at open.</summary>
    public ThreadMemory Threads
    {
        get
        {
            lock (_gate)
            {
                return _threads ??= new ThreadMemory(this, _threadKey);
            }
        }
    }

    internal void RememberThread(SqliteTransaction? tx, ThreadEntry entry)
    {
        var cmd = Prepared("""
            INSERT INTO thread (message_hash, mailbox, kind, label, destination, decision_id, fingerprint, folder, updated_utc)
            VALUES ($h, $m, $k, $l, $dest, $d, $fp, $f, $t)
            ON CONFLICT (message_hash, mailbox, kind) DO UPDATE SET label = excluded.label, destination = excluded.destination,
                decision_id = excluded.decision_id, fingerprint = excluded.fingerprint, folder = excluded.folder, updated_utc = excluded.updated_utc
            """, null, tx);
        cmd.Parameters.AddWithValue("$h", entry.MessageHash);
        cmd.Parameters.AddWithValue("$m", entry.Mailbox);
        cmd.Parameters.AddWithValue("$k", entry.DecisionId is null ? "folder" : "routed");
        cmd.Parameters.AddWithValue("$l", entry.Label);
        cmd.Parameters.AddWithValue("$dest", (object?)entry.Destination ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$d", (object?)entry.DecisionId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$fp", (object?)entry.Fingerprint ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$f", (object?)entry.Folder ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$t", Time(entry.Time));
        cmd.ExecuteNonQuery();
    }

    // A row written outside a mail's decision (a message seen in a department folder).
    void IThreadRows.RememberThread(ThreadEntry entry)
    {
        lock (_gate)
        {
            try
            {
                RememberThread(null, entry);
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot record: {ex.Message}", ex);
            }
        }
    }

    // The newest usable row for the hash: a folder sighting, or a routed mail still delivered where its row says.
    ThreadParentRow? IThreadRows.FindThread(string mailbox, string messageHash)
    {
        lock (_gate)
        {
            try
            {
                var cmd = Prepared("""
                    SELECT t.label, t.decision_id, t.folder FROM thread t
                    WHERE t.message_hash = $h AND t.mailbox = $m AND (t.kind = 'folder' OR EXISTS (
                        SELECT 1 FROM mail m WHERE m.mailbox = t.mailbox AND m.fingerprint = t.fingerprint AND m.decision_id = t.decision_id
                            AND m.state IN ($delivered, $acknowledged) AND m.destination = t.destination))
                    ORDER BY t.updated_utc DESC LIMIT 1
                    """, null, null);
                cmd.Parameters.AddWithValue("$h", messageHash);
                cmd.Parameters.AddWithValue("$m", mailbox);
                cmd.Parameters.AddWithValue("$delivered", (int)MailState.Delivered);
                cmd.Parameters.AddWithValue("$acknowledged", (int)MailState.Acknowledged);
                using var r = cmd.ExecuteReader();
                return r.Read() ? new ThreadParentRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2)) : null;
            }
            catch (SqliteException ex)
            {
                throw new StateStoreException($"The state store '{Path}' cannot be read: {ex.Message}", ex);
            }
        }
    }

    // The key Message-IDs are hashed with: random, made by the first open of the store (INSERT OR IGNORE: concurrent first
    // opens keep one); later opens only read it, so opening a store another process holds locked still works (as LoadInstanceId).
    private byte[] LoadThreadKey()
    {
        using (var existing = _connection.CreateCommand())
        {
            existing.CommandText = "SELECT value FROM meta WHERE key = 'thread_key'";
            if (existing.ExecuteScalar() is string key)
            {
                return Convert.FromHexString(key);
            }
        }
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT OR IGNORE INTO meta (key, value) VALUES ('thread_key', $k)";
        insert.Parameters.AddWithValue("$k", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        insert.ExecuteNonQuery();
        using var select = _connection.CreateCommand();
        select.CommandText = "SELECT value FROM meta WHERE key = 'thread_key'";
        return Convert.FromHexString((string)select.ExecuteScalar()!); // inserted just above
    }
}

internal sealed record ThreadParentRow(string Label, string? DecisionId, string? Folder);

// The thread table's rows as ThreadMemory reads and writes them outside a decision's transaction.
internal interface IThreadRows
{
    void RememberThread(ThreadEntry entry);

    ThreadParentRow? FindThread(string mailbox, string messageHash);
}
