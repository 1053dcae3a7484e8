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

    /// <summary>Runs <paramref name="sql"/> (no parameters).</summary>
    public static void Execute(this DbConnection connection, string sql)
    {
        using var cmd = connection.Command(sql);
        cmd.ExecuteNonQuery();
    }
}
