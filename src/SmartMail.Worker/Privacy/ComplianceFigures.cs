using System.Data.Common;
using System.Globalization;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Privacy;

/// <summary>
/// The figures the compliance report reads from the state database (SQLite, or PostgreSQL through <see cref="PrivacyStore.Figures"/>): oversight per mailbox and month from the
/// audit trail (kept when the web rows are purged), each model's realised precision in service, its threshold changes
/// and corrections per label. Read-only.
/// </summary>
public sealed class ComplianceFigures : IDisposable
{
    private readonly DbConnection _connection;

    /// <summary>Reads through <paramref name="connection"/> (open; any provider), which it disposes.</summary>
    /// <param name="connection">A connection to the state database.</param>
    internal ComplianceFigures(DbConnection connection) => _connection = connection;

    /// <summary>Per mailbox and month: mails decided, routed without a person, sent to a person, corrected afterwards.</summary>
    /// <returns>The rows, by mailbox and month.</returns>
    public IReadOnlyList<OversightMonth> Oversight()
    {
        var rows = new SortedDictionary<(string, string), OversightMonth>();
        foreach (var (mailbox, month, outcome, count) in Rows("""
            SELECT mailbox, substr(time_utc, 1, 7), outcome, COUNT(DISTINCT decision_id) FROM audit
            WHERE source IN ('model', 'rule', 'thread', 'manual') AND outcome IN ('routed', 'manual')
            GROUP BY 1, 2, 3
            """, r => (r.GetString(0), r.GetString(1), r.GetString(2), Count(r, 3))))
        {
            var row = rows.GetValueOrDefault((mailbox, month)) ?? new OversightMonth(mailbox, month, 0, 0, 0);
            rows[(mailbox, month)] = outcome == "routed" ? row with { Routed = row.Routed + count } : row with { ToPerson = row.ToPerson + count };
        }
        foreach (var (mailbox, month, count) in Rows("SELECT mailbox, substr(time_utc, 1, 7), COUNT(DISTINCT fingerprint) FROM correction GROUP BY 1, 2",
            r => (r.GetString(0), r.GetString(1), Count(r, 2))))
        {
            var row = rows.GetValueOrDefault((mailbox, month)) ?? new OversightMonth(mailbox, month, 0, 0, 0);
            rows[(mailbox, month)] = row with { Corrected = count };
        }
        return [.. rows.Values];
    }

    /// <summary>A model version's labels in service: automatic routes, wrong ones, the threshold in force.</summary>
    /// <param name="modelVersion">The version.</param>
    /// <returns>One row per label.</returns>
    public IReadOnlyList<(string Label, int Automated, int Wrong, double? Threshold)> InService(string modelVersion) =>
        Rows("SELECT label, automated, wrong, threshold FROM label_threshold WHERE model_version = @v ORDER BY label",
            r => (r.GetString(0), r.GetInt32(1), r.GetInt32(2), r.IsDBNull(3) ? (double?)null : r.GetDouble(3)), ("@v", modelVersion));

    /// <summary>A model version's threshold changes in service.</summary>
    /// <param name="modelVersion">The version.</param>
    /// <returns>When, label, from, to, why.</returns>
    public IReadOnlyList<(string Time, string Label, double? From, double? To, string Reason)> ThresholdChanges(string modelVersion) =>
        Rows("SELECT time_utc, label, from_threshold, to_threshold, reason FROM threshold_change WHERE model_version = @v ORDER BY seq",
            r => (r.GetString(0), r.GetString(1), r.IsDBNull(2) ? (double?)null : r.GetDouble(2), r.IsDBNull(3) ? (double?)null : r.GetDouble(3), r.GetString(4)),
            ("@v", modelVersion));

    /// <summary>Corrections of a model version's decisions, per label it had given.</summary>
    /// <param name="modelVersion">The version.</param>
    /// <returns>Label and count.</returns>
    public IReadOnlyList<(string Label, int Count)> CorrectionsPerLabel(string modelVersion) =>
        Rows("SELECT COALESCE(from_label, '(manual triage)'), COUNT(*) FROM correction WHERE model_version = @v GROUP BY 1 ORDER BY 1",
            r => (r.GetString(0), Count(r, 1)), ("@v", modelVersion));

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    // COUNT is a 64-bit integer on PostgreSQL.
    private static int Count(DbDataReader r, int i) => Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture);

    private List<T> Rows<T>(string sql, Func<DbDataReader, T> read, params (string Name, object Value)[] parameters)
    {
        var result = new List<T>();
        try
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                cmd.Bind(name, value);
            }
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                result.Add(read(r));
            }
        }
        catch (DbException ex) when (ex.Message.Contains("no such table", StringComparison.Ordinal) || ex.SqlState == "42P01")
        {
            // A store from before the learning loop (SQLite "no such table", PostgreSQL undefined_table): nothing to report.
        }
        return result;
    }
}

/// <summary>Oversight of one mailbox in one month.</summary>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Month">yyyy-MM.</param>
/// <param name="Routed">Routed without a person (rule, thread, model).</param>
/// <param name="ToPerson">Sent to a person (manual triage).</param>
/// <param name="Corrected">Corrected afterwards.</param>
public sealed record OversightMonth(string Mailbox, string Month, int Routed, int ToPerson, int Corrected)
{
    /// <summary>Mails decided.</summary>
    public int Total => Routed + ToPerson;

    /// <summary>A share of <see cref="Total"/> as a percentage.</summary>
    /// <param name="n">The part.</param>
    /// <returns>For example <c>12.5 %</c>.</returns>
    public string Share(int n) => Total == 0 ? "–" : (100.0 * n / Total).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
