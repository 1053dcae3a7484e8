using System.Data.Common;
using System.Globalization;

namespace SmartMail.Worker.State;

/// <summary>
/// What differs between the providers under <see cref="StateStore"/>: the schema's migrations, opening a connection, and the
/// few expressions that are spelled differently. Every query is otherwise the same text on both (named <c>@</c> parameters,
/// <c>INSERT … ON CONFLICT</c>, <c>RETURNING</c>, ISO 8601 times as text).
/// </summary>
internal abstract class StateDialect
{
    /// <summary>The provider's name, as <c>SmartMail:State:Provider</c> spells it.</summary>
    public abstract string Name { get; }

    /// <summary>The schema's versions, oldest first: version n is <c>Migrations[n - 1]</c>. Forward-only; never edit a shipped one.</summary>
    public abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Run on each new connection (the store's writer and the readers).</summary>
    public virtual void Opened(DbConnection connection, bool writer)
    {
    }

    /// <summary>A statement run first in the migration transaction so that two instances starting together migrate one after the other.</summary>
    public virtual string? MigrationLock => null;

    /// <summary>A statement run first in a change of the model registry so that two instances' changes take turns (SQLite: its one writer does).</summary>
    public virtual string? RegistryLock => null;

    /// <summary>Appended to the read of a row that the transaction then changes (another writer waits for the commit).</summary>
    public virtual string LockRow => "";

    /// <summary>Milliseconds from the ISO 8601 text <paramref name="from"/> to <paramref name="to"/>, as an integer expression.</summary>
    public abstract string MillisBetween(string from, string to);

    /// <summary>The version of the schema in <paramref name="connection"/> (0: none), and the migrations applied up to the binary's.</summary>
    /// <exception cref="StateStoreException">The database is newer than this binary.</exception>
    public int Migrate(DbConnection connection, string location)
    {
        // Most opens find the schema current and write nothing (a file another process holds locked still opens).
        if (Version(connection, null) is var found && found > Migrations.Count)
        {
            throw Newer(location, found);
        }
        if (found == Migrations.Count)
        {
            return found;
        }
        // Everything from here under the lock, the meta table's creation included: PostgreSQL's CREATE TABLE IF NOT EXISTS is
        // no guard against another session creating it at the same moment (23505 on pg_type).
        using var tx = connection.BeginTransaction();
        if (MigrationLock is { } lockSql)
        {
            using var take = connection.Command(lockSql);
            take.Transaction = tx;
            take.ExecuteNonQuery();
        }
        using (var meta = connection.Command("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"))
        {
            meta.Transaction = tx;
            meta.ExecuteNonQuery();
        }
        var current = Version(connection, tx);
        if (current > Migrations.Count)
        {
            throw Newer(location, current);
        }
        for (var version = current + 1; version <= Migrations.Count; version++)
        {
            using var step = connection.Command(Migrations[version - 1]);
            step.Transaction = tx;
            step.ExecuteNonQuery();
            Upgraded(connection, tx, version);
        }
        using (var write = connection.Command(
            "INSERT INTO meta (key, value) VALUES ('schema_version', @v) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ("@v", Math.Max(current, Migrations.Count).ToString(CultureInfo.InvariantCulture))))
        {
            write.Transaction = tx;
            write.ExecuteNonQuery();
        }
        tx.Commit();
        return Migrations.Count;
    }

    /// <summary>The schema version recorded in the database; 0 when there is none (a new database, or one from before versioned migrations).</summary>
    public static int Version(DbConnection connection, DbTransaction? tx)
    {
        try
        {
            using var read = connection.Command("SELECT value FROM meta WHERE key = 'schema_version'");
            read.Transaction = tx;
            return read.ExecuteScalar() is string v ? int.Parse(v, CultureInfo.InvariantCulture) : 0;
        }
        catch (DbException) when (tx is null)
        {
            return 0; // no meta table yet
        }
    }

    private StateStoreException Newer(string location, int found) => new(
        $"The state database '{location}' has schema version {found}, newer than this SmartMail knows ({Migrations.Count}): upgrade SmartMail (migrations are forward-only).");

    /// <summary>After <paramref name="version"/> was applied (SQLite: columns older files lack).</summary>
    protected virtual void Upgraded(DbConnection connection, DbTransaction tx, int version)
    {
    }
}
