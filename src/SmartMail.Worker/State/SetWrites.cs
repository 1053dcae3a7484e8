using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SmartMail.Worker.State;

/// <summary>
/// One statement for many rows on PostgreSQL. A batch's writes were one statement per mail and step; each statement costs
/// the client's parameter rewriting and the server's parse, plan and bind whatever it does, and that per-statement cost,
/// not execution, was most of what PostgreSQL's IMAP backlog spent beyond SQLite's. Here a statement written for one row
/// (<c>INSERT … VALUES (@a, @b) …</c> or <c>UPDATE … SET … WHERE …</c>) becomes one for all rows: each parameter is bound
/// once as an array, and the rows come from <c>unnest(…)</c>. SQLite, in the process, runs the statement per row as before.
/// </summary>
/// <remarks>
/// The rows of one set statement must not touch the same table row twice (<c>ON CONFLICT DO UPDATE</c> refuses it, and an
/// <c>UPDATE … FROM</c> would apply only one of them); a caller that cannot rule it out names each row's target key, and a
/// row whose key is already in the statement starts the next one, so the rows still apply in their order. An
/// <c>INSERT</c>'s <c>ON CONFLICT</c> clause names the new values as <c>excluded.column</c>, never as parameters (the
/// <c>unnest</c> rows are not visible there). Inserted rows take identity values in the rows' order.
/// </remarks>
internal static partial class SetWrites
{
    // The source rows' alias and their position column (INSERT orders by it, so identity values follow the rows' order).
    private const string Rows = "smartmail_rows";
    private const string Position = "smartmail_position";

    /// <summary>Whether <paramref name="connection"/> takes set statements (PostgreSQL).</summary>
    /// <param name="connection">The connection.</param>
    /// <returns><see langword="true"/> for Npgsql.</returns>
    public static bool Supported(DbConnection connection) => connection is Npgsql.NpgsqlConnection;

    /// <summary>
    /// The set statements that write <paramref name="rows"/> with <paramref name="sql"/>: one, or more when
    /// <paramref name="keyOf"/> names a key twice. Each comes with the number of rows it writes.
    /// </summary>
    /// <param name="sql">The statement for one row.</param>
    /// <param name="rows">Each row's parameters (the same names in every row).</param>
    /// <param name="keyOf">The table row each row writes, where two rows may write the same one; <see langword="null"/>: they never do.</param>
    /// <returns>The statements, in order.</returns>
    public static IEnumerable<(DbStatement Statement, int Rows)> For(string sql, IReadOnlyList<(string Name, object? Value)[]> rows, Func<int, object>? keyOf = null)
    {
        var start = 0;
        var keys = new HashSet<object>();
        for (var i = 0; i < rows.Count; i++)
        {
            if (keyOf is not null && !keys.Add(keyOf(i)))
            {
                yield return (Statement(sql, rows, start, i), i - start);
                start = i;
                keys.Clear();
                keys.Add(keyOf(i));
            }
        }
        if (rows.Count > start)
        {
            yield return (Statement(sql, rows, start, rows.Count), rows.Count - start);
        }
    }

    // The set statement for rows[from..to).
    private static DbStatement Statement(string sql, IReadOnlyList<(string Name, object? Value)[]> rows, int from, int to)
    {
        var names = rows[from].Select(p => p.Name).ToArray();
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        var arrays = new List<string>();
        var aliases = new List<string>();
        var parameters = new List<(string Name, object? Value)>();
        for (var n = 0; n < names.Length; n++)
        {
            var values = new object?[to - from];
            for (var i = from; i < to; i++)
            {
                var row = rows[i];
                if (row.Length != names.Length || row[n].Name != names[n])
                {
                    throw new ArgumentException($"Every row of a set statement binds the same parameters in the same order ({names[n]}).", nameof(rows));
                }
                values[i - from] = row[n].Value;
            }
            if (values.All(v => v is null))
            {
                columns[names[n]] = "NULL"; // no array type to infer; every row's value is NULL
                continue;
            }
            var alias = "p" + n.ToString(CultureInfo.InvariantCulture);
            var array = "@" + alias;
            arrays.Add(array);
            aliases.Add(alias);
            columns[names[n]] = Rows + "." + alias;
            parameters.Add((array, TypedArray(names[n], values)));
        }
        var source = $"unnest({string.Join(", ", arrays)}) WITH ORDINALITY AS {Rows}({string.Join(", ", aliases)}, {Position})";
        string Bound(string part) => ParameterName().Replace(part, m => columns.TryGetValue(m.Value, out var column) ? column
            : throw new ArgumentException($"The statement names {m.Value}, which the rows do not bind.", nameof(rows)));
        return new DbStatement(Rewrite(sql, source, Bound), [.. parameters]);
    }

    // INSERT … VALUES (…) rest  →  INSERT … SELECT … FROM source ORDER BY position rest
    // UPDATE … SET … WHERE …    →  UPDATE … SET … FROM source WHERE …
    private static string Rewrite(string sql, string source, Func<string, string> bound)
    {
        var text = sql.Trim();
        if (text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase))
        {
            var values = IndexOfWord(text, "VALUES");
            var open = text.IndexOf('(', values);
            var close = ClosingParenthesis(text, open);
            var rest = text[(close + 1)..];
            if (rest.Contains('@', StringComparison.Ordinal))
            {
                throw new ArgumentException("An INSERT's ON CONFLICT clause must name the new values as excluded.column to be written as a set.", nameof(sql));
            }
            return new StringBuilder(text[..values]).Append("SELECT ").Append(bound(text[(open + 1)..close]))
                .Append(" FROM ").Append(source).Append(" ORDER BY ").Append(Rows).Append('.').Append(Position).Append(rest).ToString();
        }
        if (text.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase))
        {
            var where = IndexOfWord(text, "WHERE");
            return new StringBuilder(bound(text[..where])).Append("FROM ").Append(source).Append(' ').Append(bound(text[where..])).ToString();
        }
        throw new ArgumentException("Only INSERT … VALUES and UPDATE … WHERE statements can be written as a set.", nameof(sql));
    }

    // The first occurrence of the keyword outside parentheses.
    private static int IndexOfWord(string text, string word)
    {
        var depth = 0;
        for (var i = 0; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0 && string.Compare(text, i, word, 0, word.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (i == 0 || char.IsWhiteSpace(text[i - 1])) && (i + word.Length == text.Length || !char.IsLetterOrDigit(text[i + word.Length])))
            {
                return i;
            }
        }
        throw new ArgumentException($"The statement has no {word}.", nameof(text));
    }

    private static int ClosingParenthesis(string text, int open)
    {
        var depth = 0;
        for (var i = open; i < text.Length; i++)
        {
            depth += text[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (depth == 0)
            {
                return i;
            }
        }
        throw new ArgumentException("The statement's VALUES list is not closed.", nameof(text));
    }

    // The column's values as an array Npgsql sends with its element type (text[], integer[], bigint[], double precision[]…).
    private static Array TypedArray(string name, object?[] values) =>
        values.First(v => v is not null) switch
        {
            string => values.Select(v => (string?)v).ToArray(),
            int => values.Select(v => v is null ? (int?)null : Convert.ToInt32(v, CultureInfo.InvariantCulture)).ToArray(),
            long => values.Select(v => v is null ? (long?)null : Convert.ToInt64(v, CultureInfo.InvariantCulture)).ToArray(),
            double or float => values.Select(v => v is null ? (double?)null : Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray(),
            bool => values.Select(v => (bool?)v).ToArray(),
            var other => throw new ArgumentException($"{name}: values of type {other!.GetType().Name} cannot be written as a set.", nameof(values)),
        };

    [GeneratedRegex(@"@\w+")]
    private static partial Regex ParameterName();
}
