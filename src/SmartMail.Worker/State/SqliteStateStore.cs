using Microsoft.Data.Sqlite;

namespace SmartMail.Worker.State;

/// <summary>The state store in one SQLite file (the embedded default): WAL, synchronous=FULL for the store's writer.</summary>
public sealed class SqliteStateStore : StateStore
{
    /// <summary>Opens (and if needed creates, or migrates forward) the store at <paramref name="path"/>.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="busyTimeout">How long a write waits for a lock held by another process; default 10 s.</param>
    /// <param name="auditFile">Where every audit row is mirrored as a JSON line; none when <see langword="null"/> (see <see cref="StateStore.MirrorAuditTo"/>).</param>
    /// <exception cref="StateStoreException">The file cannot be opened or written, or its schema is newer than this binary.</exception>
    public SqliteStateStore(string path, TimeSpan? busyTimeout = null, string? auditFile = null)
        : base(new SqliteDialect(busyTimeout ?? TimeSpan.FromSeconds(10)), Connector(System.IO.Path.GetFullPath(path ?? throw new ArgumentNullException(nameof(path)))),
            System.IO.Path.GetFullPath(path), auditFile, instanceId: null)
    {
    }

    /// <summary>The database file.</summary>
    public string Path => Location;

    // The writer keeps its own connection (no pool); readers share a pool.
    private static Func<bool, System.Data.Common.DbConnection> Connector(string path) => writer =>
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        return new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = !writer }.ToString());
    };
}
