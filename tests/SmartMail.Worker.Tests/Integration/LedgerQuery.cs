using Microsoft.Data.Sqlite;

namespace SmartMail.Worker.Tests.Integration;

/// <summary>Reads a ledger file the way an operator would: a separate read-only connection, while the worker may be writing.</summary>
internal static class LedgerQuery
{
    /// <summary>The rows of <paramref name="sql"/>, each row's columns joined by " | "; empty while the file is not created yet.</summary>
    public static List<string> Rows(string db, string sql)
    {
        try
        {
            using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            using var reader = cmd.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
            {
                rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount)
                    .Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            }
            return rows;
        }
        catch (SqliteException)
        {
            return []; // not created yet
        }
    }

    /// <summary>The first column of the first row as a number; 0 while the file is not created yet.</summary>
    public static long Scalar(string db, string sql) =>
        File.Exists(db) ? long.Parse(Rows(db, sql).FirstOrDefault() ?? "0", System.Globalization.CultureInfo.InvariantCulture) : 0;
}
