using System.Data.Common;

namespace SmartMail.Worker.State;

/// <summary>ADO.NET helpers the store and its direct readers share (any provider).</summary>
internal static class DbCommands
{
    /// <summary>A command on <paramref name="connection"/> with <paramref name="parameters"/> bound by name (<see langword="null"/>: SQL NULL).</summary>
    public static DbCommand Command(this DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            cmd.Bind(name, value);
        }
        return cmd;
    }

    /// <summary>Binds <paramref name="value"/> to <paramref name="name"/> (<see langword="null"/>: SQL NULL).</summary>
    public static void Bind(this DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    /// <summary>
    /// Runs <paramref name="statements"/> in <paramref name="tx"/>: as one batch (one round trip) where the provider batches
    /// statements (PostgreSQL), else one after the other.
    /// </summary>
    /// <returns>The rows each statement changed, in order.</returns>
    public static int[] ExecuteAll(this DbTransaction tx, params DbStatement[] statements)
    {
        var connection = tx.Connection!;
        var changed = new int[statements.Length];
        if (connection.CanCreateBatch && statements.Length > 1)
        {
            using var batch = connection.CreateBatch();
            batch.Transaction = tx;
            foreach (var statement in statements)
            {
                batch.Add(statement.Sql, statement.Parameters);
            }
            batch.ExecuteNonQuery();
            for (var i = 0; i < changed.Length; i++)
            {
                changed[i] = batch.BatchCommands[i].RecordsAffected;
            }
            return changed;
        }
        for (var i = 0; i < statements.Length; i++)
        {
            using var cmd = connection.Command(statements[i].Sql, statements[i].Parameters);
            cmd.Transaction = tx;
            changed[i] = cmd.ExecuteNonQuery();
        }
        return changed;
    }

    /// <summary>
    /// Runs <paramref name="sql"/> once for each of <paramref name="rows"/> in <paramref name="tx"/>: on PostgreSQL as one
    /// set statement (<see cref="SetWrites"/>; more when <paramref name="keyOf"/> names a key twice), else row by row.
    /// </summary>
    /// <returns>The rows changed in all.</returns>
    public static int ExecuteRows(this DbTransaction tx, string sql, IReadOnlyList<(string Name, object? Value)[]> rows, Func<int, object>? keyOf = null)
    {
        if (rows.Count == 0)
        {
            return 0;
        }
        var statements = SetWrites.Supported(tx.Connection!)
            ? SetWrites.For(sql, rows, keyOf).Select(s => s.Statement)
            : rows.Select(row => new DbStatement(sql, row));
        return tx.ExecuteAll([.. statements]).Sum();
    }

    /// <summary>Adds <paramref name="sql"/> with <paramref name="parameters"/> bound by name to <paramref name="batch"/>.</summary>
    public static void Add(this DbBatch batch, string sql, IEnumerable<(string Name, object? Value)> parameters)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }
        batch.BatchCommands.Add(command);
    }

    /// <summary>Runs <paramref name="sql"/> (no parameters).</summary>
    public static void Execute(this DbConnection connection, string sql)
    {
        using var cmd = connection.Command(sql);
        cmd.ExecuteNonQuery();
    }
}

/// <summary>One SQL statement with its parameters (named <c>@</c>, <see langword="null"/>: SQL NULL).</summary>
internal sealed record DbStatement(string Sql, (string Name, object? Value)[] Parameters);
