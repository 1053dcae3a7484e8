using System.Data.Common;
using System.Globalization;

namespace SmartMail.Worker.State;

/// <summary>
/// Moves an instance's SQLite state (<c>state.db</c>: the ledger, the audit trail, the web app's rows, thread memory, the
/// learning loop's examples, corrections and thresholds, the privacy index, the model registry with its bundles) into an empty PostgreSQL database, in one transaction, and checks
/// that every table has as many rows there as in the file. The audit rows keep their order (<c>seq</c>).
/// </summary>
public static class StateCopy
{
    /// <summary>The tables copied, in order.</summary>
    public static IReadOnlyList<string> Tables { get; } =
    [
        "mail", "audit", "mail_summary", "web_action", "thread", "example", "correction", "feedback_cursor", "label_route", "label_threshold",
        "threshold_change", "privacy_mail", "privacy_key", "privacy_model", "privacy_model_flag", "privacy_pending", "retention_purge",
        "model_version", "model_event",
    ];

    // The instance's own values in the file (e.g. lease generations) are kept under its name in the shared database.
    private static readonly HashSet<string> SharedMeta = new(StringComparer.Ordinal) { "schema_version", "instance_id", "thread_key" };

    /// <summary>Copies <paramref name="sqlitePath"/> into the PostgreSQL database at <paramref name="connectionString"/>.</summary>
    /// <param name="sqlitePath">The SQLite file (<c>DataDirectory/state.db</c>); not changed, beyond migrating it forward.</param>
    /// <param name="connectionString">Npgsql's form; the database must exist and hold no SmartMail rows.</param>
    /// <returns>The file's instance id (set it as <c>SmartMail:State:InstanceId</c>: the IMAP claims carry it), and the rows per table.</returns>
    /// <exception cref="StateStoreException">Either database cannot be opened, the target is not empty, or the counts differ (nothing is committed then).</exception>
    public static (string InstanceId, IReadOnlyList<(string Table, long Rows)> Copied) Copy(string sqlitePath, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(sqlitePath);
        if (!File.Exists(sqlitePath))
        {
            throw new StateStoreException($"There is no SQLite state store at '{Path.GetFullPath(sqlitePath)}' to copy.");
        }
        using var source = new SqliteStateStore(sqlitePath);
        using (new Learning.ExampleStore(source))
        using (new Privacy.PrivacyStore(source))
        {
            // the learning and privacy tables exist in the file from here on, empty when it never had them
        }
        using var target = new PostgreSqlStateStore(connectionString, source.InstanceId);
        using var from = source.OpenConnection();
        using var to = target.OpenConnection();
        foreach (var table in Tables)
        {
            if (Count(to, null, table) is var rows and > 0)
            {
                throw new StateStoreException($"The target database '{target.Location}' is not empty ({rows} rows in {table}): state copy only fills an empty one.");
            }
        }
        try
        {
            using var tx = to.BeginTransaction();
            var copied = new List<(string, long)>();
            foreach (var table in Tables)
            {
                var rows = CopyTable(from, to, tx, table);
                if (Count(to, tx, table) is var there && (there != rows || Count(from, null, table) != rows))
                {
                    throw new StateStoreException($"The copy of {table} has {there} rows in '{target.Location}', not {rows}: nothing was copied.");
                }
                copied.Add((table, rows));
            }
            CopyMeta(from, to, tx, source.InstanceId);
            tx.Commit();
            return (source.InstanceId, copied);
        }
        catch (DbException ex)
        {
            throw new StateStoreException($"The copy into '{target.Location}' failed, nothing was copied: {ex.Message}", ex);
        }
    }

    private static long CopyTable(DbConnection from, DbConnection to, DbTransaction tx, string table)
    {
        var columns = Columns(to, tx, table).Intersect(SourceColumns(from, table), StringComparer.Ordinal).ToList();
        var identity = columns.Contains("seq") ? " OVERRIDING SYSTEM VALUE" : "";
        using var insert = to.Command($"INSERT INTO {table} ({string.Join(", ", columns)}){identity} VALUES ({string.Join(", ", columns.Select((_, i) => $"@c{i}"))})");
        insert.Transaction = tx;
        using var read = from.Command($"SELECT {string.Join(", ", columns)} FROM {table}");
        using var r = read.ExecuteReader();
        long rows = 0;
        while (r.Read())
        {
            insert.Parameters.Clear();
            for (var i = 0; i < columns.Count; i++)
            {
                insert.Bind($"@c{i}", r.IsDBNull(i) ? null : r.GetValue(i));
            }
            insert.ExecuteNonQuery();
            rows++;
        }
        if (identity.Length > 0)
        {
            // The next row the fleet writes follows the copied ones.
            using var next = to.Command($"SELECT setval(pg_get_serial_sequence('{table}', 'seq'), COALESCE(MAX(seq), 0) + 1, false) FROM {table}");
            next.Transaction = tx;
            next.ExecuteNonQuery();
        }
        return rows;
    }

    // The file's thread key (thread memory's hashes are keyed by it), and its own values under its instance id.
    private static void CopyMeta(DbConnection from, DbConnection to, DbTransaction tx, string instanceId)
    {
        using var read = from.Command("SELECT key, value FROM meta");
        using var r = read.ExecuteReader();
        while (r.Read())
        {
            var key = r.GetString(0);
            if (key is "schema_version" or "instance_id")
            {
                continue;
            }
            using var write = to.Command("INSERT INTO meta (key, value) VALUES (@k, @v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                ("@k", SharedMeta.Contains(key) ? key : $"instance:{instanceId}:{key}"), ("@v", r.GetString(1)));
            write.Transaction = tx;
            write.ExecuteNonQuery();
        }
    }

    private static long Count(DbConnection connection, DbTransaction? tx, string table)
    {
        using var cmd = connection.Command($"SELECT COUNT(*) FROM {table}");
        cmd.Transaction = tx;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static List<string> Columns(DbConnection connection, DbTransaction tx, string table)
    {
        using var cmd = connection.Command("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = @t ORDER BY ordinal_position",
            ("@t", table));
        cmd.Transaction = tx;
        using var r = cmd.ExecuteReader();
        var result = new List<string>();
        while (r.Read())
        {
            result.Add(r.GetString(0));
        }
        return result;
    }

    private static HashSet<string> SourceColumns(DbConnection connection, string table)
    {
        using var cmd = connection.Command($"SELECT name FROM pragma_table_info('{table}')");
        using var r = cmd.ExecuteReader();
        var result = new HashSet<string>(StringComparer.Ordinal);
        while (r.Read())
        {
            result.Add(r.GetString(0));
        }
        return result;
    }
}
