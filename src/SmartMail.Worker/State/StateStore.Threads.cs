using System.Data.Common;
using SmartMail.Worker.Threads;

namespace SmartMail.Worker.State;

// The thread table: Message-ID (keyed hash) → where its thread went. Rows of kind 'routed' are written by the ledger in the
// decision's transaction and count only while the mail is delivered to that destination; rows of kind 'folder' are
// written when a message is seen in a department folder (a caseworker's answer, or a corrected mail).
public abstract partial class StateStore : IThreadRows
{


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

    internal void RememberThread(DbTransaction? tx, ThreadEntry entry) =>
        Write(tx, """
            INSERT INTO thread (message_hash, mailbox, kind, label, destination, decision_id, fingerprint, folder, updated_utc)
            VALUES (@h, @m, @k, @l, @dest, @d, @fp, @f, @t)
            ON CONFLICT (message_hash, mailbox, kind) DO UPDATE SET label = excluded.label, destination = excluded.destination,
                decision_id = excluded.decision_id, fingerprint = excluded.fingerprint, folder = excluded.folder, updated_utc = excluded.updated_utc
            """, null,
            [("@h", entry.MessageHash), ("@m", entry.Mailbox), ("@k", entry.DecisionId is null ? "folder" : "routed"), ("@l", entry.Label),
             ("@dest", entry.Destination), ("@d", entry.DecisionId), ("@fp", entry.Fingerprint), ("@f", entry.Folder), ("@t", Time(entry.Time))]);

    // A row written outside a mail's decision (a message seen in a department folder).
    void IThreadRows.RememberThread(ThreadEntry entry)
    {
        lock (_gate)
        {
            try
            {
                RememberThread(null, entry);
            }
            catch (DbException ex)
            {
                throw new StateStoreException($"The state store '{Location}' cannot record: {ex.Message}", ex);
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
                    WHERE t.message_hash = @h AND t.mailbox = @m AND (t.kind = 'folder' OR EXISTS (
                        SELECT 1 FROM mail m WHERE m.mailbox = t.mailbox AND m.fingerprint = t.fingerprint AND m.decision_id = t.decision_id
                            AND m.state IN (@delivered, @acknowledged) AND m.destination = t.destination))
                    ORDER BY t.updated_utc DESC LIMIT 1
                    """, null, null);
                cmd.Bind("@h", messageHash);
                cmd.Bind("@m", mailbox);
                cmd.Bind("@delivered", (int)MailState.Delivered);
                cmd.Bind("@acknowledged", (int)MailState.Acknowledged);
                using var r = cmd.ExecuteReader();
                return r.Read() ? new ThreadParentRow(r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2)) : null;
            }
            catch (DbException ex)
            {
                throw new StateStoreException($"The state store '{Location}' cannot be read: {ex.Message}", ex);
            }
        }
    }

    // The key Message-IDs are hashed with: random, made by the first open of the store (ON CONFLICT DO NOTHING: concurrent first
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
        insert.CommandText = "INSERT INTO meta (key, value) VALUES ('thread_key', @k) ON CONFLICT (key) DO NOTHING";
        insert.Bind("@k", Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
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
