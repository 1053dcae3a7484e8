using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace SmartMail.Worker.State;

/// <summary>
/// The long-lived connection of a store beside the ledger (the learning loop's, the privacy index's) to the state database:
/// its SQLite file, or the shared PostgreSQL database. Opened again when a failure broke it (a database server restarted).
/// Not thread-safe: its owner serialises use.
/// </summary>
internal sealed class ReopeningConnection : IDisposable
{
    private readonly Func<DbConnection> _open;
    private DbConnection _connection;

    /// <summary>Opens the first connection.</summary>
    /// <param name="open">Opens a connection.</param>
    public ReopeningConnection(Func<DbConnection> open)
    {
        _open = open;
        _connection = open();
    }

    /// <summary>The connection, open.</summary>
    public DbConnection Current
    {
        get
        {
            if (_connection.State != System.Data.ConnectionState.Open)
            {
                _connection.Dispose();
                _connection = _open();
            }
            return _connection;
        }
    }

    /// <summary>A further connection of its own to the same database (the caller disposes it).</summary>
    /// <returns>An open connection.</returns>
    public DbConnection OpenAnother() => _open();

    /// <summary>How to open <paramref name="store"/>'s database: its SQLite file with a connection of its own, else the store's readers' connection.</summary>
    /// <param name="store">The state store.</param>
    /// <returns>The opener.</returns>
    public static Func<DbConnection> For(IStateStore store) =>
        store is SqliteStateStore sqlite ? Sqlite(sqlite.Path) : (store ?? throw new ArgumentNullException(nameof(store))).OpenConnection;

    /// <summary>How to open the SQLite file at <paramref name="path"/> (no pool: the connection is long-lived).</summary>
    /// <param name="path">The file; its folder is created.</param>
    /// <returns>The opener.</returns>
    public static Func<DbConnection> Sqlite(string path)
    {
        var full = Path.GetFullPath(path ?? throw new ArgumentNullException(nameof(path)));
        return () =>
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ToString());
            connection.Open();
            return connection;
        };
    }

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();
}
