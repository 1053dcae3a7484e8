using System.Data.Common;
using System.Globalization;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

// Realised precision per (model version, label) from corrections, and the thresholds raised in service: the automatic
// routes (one row per mail, with whether a person corrected it), each label's tracked threshold, and every change of
// the threshold in force (append-only, part of the audit trail). No text is kept here.
public sealed partial class ExampleStore
{
    private const string PrecisionSchema = """
        CREATE TABLE IF NOT EXISTS label_route (
            mailbox TEXT NOT NULL, fingerprint TEXT NOT NULL, decision_id TEXT, model_version TEXT NOT NULL, label TEXT NOT NULL,
            confidence REAL, decided_utc TEXT NOT NULL, corrected_utc TEXT, corrected_to TEXT,
            PRIMARY KEY (mailbox, fingerprint));
        CREATE TABLE IF NOT EXISTS label_threshold (
            model_version TEXT NOT NULL, label TEXT NOT NULL, model_threshold REAL NOT NULL, tracked REAL NOT NULL, threshold REAL,
            automated INTEGER NOT NULL, wrong INTEGER NOT NULL, reason TEXT, updated_utc TEXT NOT NULL,
            PRIMARY KEY (model_version, label));
        CREATE TABLE IF NOT EXISTS threshold_change (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, model_version TEXT NOT NULL, label TEXT NOT NULL,
            from_threshold REAL, to_threshold REAL, outcome TEXT NOT NULL, automated INTEGER NOT NULL, wrong INTEGER NOT NULL,
            reason TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS threshold_change_append_only BEFORE UPDATE ON threshold_change
            BEGIN SELECT RAISE(ABORT, 'threshold changes are append-only'); END;
        """;

    /// <summary>
    /// Counts automatic (model) routes for their (model version, label) and moves each label's tracked threshold, in one
    /// transaction. A mail already counted is not counted again.
    /// </summary>
    /// <param name="routes">The routes.</param>
    /// <param name="tracker">The rule.</param>
    /// <param name="adjust">Whether thresholds in force may change (<see cref="LearningOptions.AdjustThresholds"/>).</param>
    /// <param name="now">The time.</param>
    /// <returns>The changes of thresholds in force, oldest first.</returns>
    public IReadOnlyList<ThresholdChangeRecord> CountAutomaticRoutes(IReadOnlyCollection<AutomaticRoute> routes, ThresholdTracker tracker,
        bool adjust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(tracker);
        if (routes.Count == 0)
        {
            return [];
        }
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            var changes = CountAutomaticRoutes(tx, routes, tracker, adjust, now);
            tx.Commit();
            return changes;
        }
    }

    // CountAutomaticRoutes in the caller's transaction (the ledger's, so the threshold changes' audit rows commit with them).
    // The routes are recorded in one batch (one round trip on PostgreSQL); each label's state is read once and saved once,
    // the routes applied to it in order in between (the transaction sees no other writer's counts either way), and a change
    // of a threshold in force is recorded as it happens.
    internal static List<ThresholdChangeRecord> CountAutomaticRoutes(DbTransaction tx, IReadOnlyCollection<AutomaticRoute> routes,
        ThresholdTracker tracker, bool adjust, DateTimeOffset now)
    {
        var recorded = tx.ExecuteAll([.. routes.Select(route => new DbStatement("""
            INSERT INTO label_route (mailbox, fingerprint, decision_id, model_version, label, confidence, decided_utc)
            VALUES (@m, @fp, @d, @mv, @l, @c, @t) ON CONFLICT (mailbox, fingerprint) DO NOTHING
            """, [("@m", route.Mailbox), ("@fp", route.Fingerprint), ("@d", route.DecisionId), ("@mv", route.ModelVersion),
                ("@l", route.Label), ("@c", route.Confidence), ("@t", Time(now))]))]);
        var changes = new List<ThresholdChangeRecord>();
        var states = new Dictionary<(string Version, string Label), LabelThresholdState>();
        foreach (var (route, i) in routes.Select((r, i) => (r, i)))
        {
            if (recorded[i] == 0)
            {
                continue; // counted before
            }
            // No state yet means no override was in force: the route's threshold is the model's own.
            var key = (route.ModelVersion, route.Label);
            var state = states.TryGetValue(key, out var known) ? known
                : ReadThreshold(tx, route.ModelVersion, route.Label) ?? ThresholdTracker.Start(route.ModelVersion, route.Label, route.Threshold);
            var (next, change) = tracker.Routed(state, adjust);
            states[key] = next;
            if (change is not null)
            {
                changes.Add(InsertChange(tx, next, change, now));
            }
        }
        foreach (var state in states.Values)
        {
            SaveThreshold(tx, state, tracker, now);
        }
        return changes;
    }

    /// <summary>
    /// Counts a correction of an automatic route as a wrong route of its (model version, label) and moves the label's tracked
    /// threshold. A mail that was not routed automatically, was already counted wrong, or is "corrected" to the label it was
    /// routed to, changes nothing.
    /// </summary>
    /// <param name="mailbox">The mailbox.</param>
    /// <param name="fingerprint">The mail.</param>
    /// <param name="toLabel">The right label.</param>
    /// <param name="tracker">The rule.</param>
    /// <param name="adjust">Whether thresholds in force may change.</param>
    /// <param name="now">The time.</param>
    /// <returns>Whether the correction counted, and the change of the threshold in force, if any.</returns>
    public (bool Counted, ThresholdChangeRecord? Change) CountCorrectedRoute(string mailbox, string fingerprint, string toLabel,
        ThresholdTracker tracker, bool adjust, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tracker);
        lock (_gate)
        {
            using var tx = Db.BeginTransaction();
            var result = CountCorrectedRoute(tx, mailbox, fingerprint, toLabel, tracker, adjust, now);
            tx.Commit();
            return result;
        }
    }

    // CountCorrectedRoute in the caller's transaction (the ledger's Correct transition).
    internal static (bool Counted, ThresholdChangeRecord? Change) CountCorrectedRoute(DbTransaction tx, string mailbox, string fingerprint,
        string toLabel, ThresholdTracker tracker, bool adjust, DateTimeOffset now)
    {
        string version, label;
        using (var find = tx.Connection!.CreateCommand())
        {
            find.Transaction = tx;
            find.CommandText = "SELECT model_version, label FROM label_route WHERE mailbox = @m AND fingerprint = @fp AND corrected_utc IS NULL";
            find.Bind("@m", mailbox);
            find.Bind("@fp", fingerprint);
            using var r = find.ExecuteReader();
            if (!r.Read())
            {
                return (false, null);
            }
            (version, label) = (r.GetString(0), r.GetString(1));
        }
        if (label == toLabel)
        {
            return (false, null);
        }
        using (var mark = tx.Connection!.CreateCommand())
        {
            mark.Transaction = tx;
            mark.CommandText = "UPDATE label_route SET corrected_utc = @t, corrected_to = @to WHERE mailbox = @m AND fingerprint = @fp";
            mark.Bind("@t", Time(now));
            mark.Bind("@to", toLabel);
            mark.Bind("@m", mailbox);
            mark.Bind("@fp", fingerprint);
            mark.ExecuteNonQuery();
        }
        ThresholdChangeRecord? record = null;
        if (ReadThreshold(tx, version, label) is { } state)
        {
            var (next, change) = tracker.Corrected(state, adjust);
            SaveThreshold(tx, next, tracker, now);
            if (change is not null)
            {
                record = InsertChange(tx, next, change, now);
            }
        }
        return (true, record);
    }

    /// <summary>Each label's threshold state in service.</summary>
    /// <param name="modelVersion">One model version, or <see langword="null"/> for all.</param>
    /// <returns>The states, by model version and label.</returns>
    public IReadOnlyList<LabelThresholdState> ReadLabelThresholds(string? modelVersion = null)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT model_version, label, model_threshold, tracked, threshold, automated, wrong FROM label_threshold " +
                "WHERE @mv IS NULL OR model_version = @mv ORDER BY model_version, label";
            cmd.Bind("@mv", (object?)modelVersion ?? DBNull.Value);
            using var r = cmd.ExecuteReader();
            var result = new List<LabelThresholdState>();
            while (r.Read())
            {
                result.Add(ReadState(r));
            }
            return result;
        }
    }

    /// <summary>The thresholds in force other than the model's own, with the reason each decision they change gives.</summary>
    /// <returns>Per (model version, label): the threshold (<see langword="null"/>: manual-only) and the reason.</returns>
    public IReadOnlyDictionary<(string ModelVersion, string Label), (float? Threshold, string Reason)> ReadOverrides()
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT model_version, label, threshold, reason FROM label_threshold " +
                "WHERE threshold IS NULL OR threshold <> model_threshold";
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<(string, string), (float?, string)>();
            while (r.Read())
            {
                result[(r.GetString(0), r.GetString(1))] = (r.IsDBNull(2) ? null : r.GetFloat(2), r.IsDBNull(3) ? "" : r.GetString(3));
            }
            return result;
        }
    }

    /// <summary>Changes of thresholds in force, newest first.</summary>
    /// <param name="take">How many.</param>
    /// <returns>The changes.</returns>
    public IReadOnlyList<ThresholdChangeRecord> ReadThresholdChanges(int take)
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT seq, time_utc, model_version, label, from_threshold, to_threshold, outcome, automated, wrong, reason " +
                "FROM threshold_change ORDER BY seq DESC LIMIT @n";
            cmd.Bind("@n", take);
            using var r = cmd.ExecuteReader();
            var result = new List<ThresholdChangeRecord>();
            while (r.Read())
            {
                result.Add(new ThresholdChangeRecord(r.GetInt64(0), DateTimeOffset.Parse(r.GetString(1), CultureInfo.InvariantCulture), r.GetString(2),
                    r.GetString(3), r.IsDBNull(4) ? null : r.GetFloat(4), r.IsDBNull(5) ? null : r.GetFloat(5), r.GetString(6), r.GetInt32(7),
                    r.GetInt32(8), r.GetString(9)));
            }
            return result;
        }
    }

    /// <summary>The sequence number of the last change of a threshold in force (0 for none): cheap, for caches.</summary>
    /// <returns>The number.</returns>
    public long LastThresholdChange()
    {
        lock (_gate)
        {
            using var cmd = Db.CreateCommand();
            cmd.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM threshold_change";
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
    }

    private static LabelThresholdState? ReadThreshold(DbTransaction tx, string version, string label)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT model_version, label, model_threshold, tracked, threshold, automated, wrong FROM label_threshold " +
            "WHERE model_version = @mv AND label = @l";
        cmd.Bind("@mv", version);
        cmd.Bind("@l", label);
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadState(r) : null;
    }

    private static LabelThresholdState ReadState(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetFloat(2), r.GetDouble(3), r.IsDBNull(4) ? null : r.GetFloat(4), r.GetInt32(5), r.GetInt32(6));

    private static void SaveThreshold(DbTransaction tx, LabelThresholdState s, ThresholdTracker tracker, DateTimeOffset now)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO label_threshold (model_version, label, model_threshold, tracked, threshold, automated, wrong, reason, updated_utc)
            VALUES (@mv, @l, @own, @tracked, @th, @n, @k, @why, @t)
            ON CONFLICT (model_version, label) DO UPDATE SET tracked = @tracked, threshold = @th, automated = @n, wrong = @k, reason = @why, updated_utc = @t
            """;
        cmd.Bind("@mv", s.ModelVersion);
        cmd.Bind("@l", s.Label);
        cmd.Bind("@own", s.ModelThreshold);
        cmd.Bind("@tracked", s.Tracked);
        cmd.Bind("@th", s.Threshold is { } th ? th : DBNull.Value);
        cmd.Bind("@n", s.Automated);
        cmd.Bind("@k", s.Wrong);
        cmd.Bind("@why", s.Overridden ? tracker.Describe(s) : DBNull.Value);
        cmd.Bind("@t", Time(now));
        cmd.ExecuteNonQuery();
    }

    private static ThresholdChangeRecord InsertChange(DbTransaction tx, LabelThresholdState s, ThresholdStep change, DateTimeOffset now)
    {
        using var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO threshold_change (time_utc, model_version, label, from_threshold, to_threshold, outcome, automated, wrong, reason)
            VALUES (@t, @mv, @l, @from, @to, @o, @n, @k, @why) RETURNING seq
            """;
        var outcome = ThresholdChangeRecord.OutcomeName(change.Outcome);
        cmd.Bind("@t", Time(now));
        cmd.Bind("@mv", s.ModelVersion);
        cmd.Bind("@l", s.Label);
        cmd.Bind("@from", change.From is { } from ? from : DBNull.Value);
        cmd.Bind("@to", change.To is { } to ? to : DBNull.Value);
        cmd.Bind("@o", outcome);
        cmd.Bind("@n", s.Automated);
        cmd.Bind("@k", s.Wrong);
        cmd.Bind("@why", change.Reason);
        var seq = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        return new ThresholdChangeRecord(seq, now, s.ModelVersion, s.Label, change.From, change.To, outcome, s.Automated, s.Wrong, change.Reason);
    }
}

/// <summary>An automatic (model) route, as counted for its label's realised precision.</summary>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Fingerprint">The mail.</param>
/// <param name="DecisionId">The decision.</param>
/// <param name="ModelVersion">The model that routed it.</param>
/// <param name="Label">The label routed to.</param>
/// <param name="Confidence">The model's confidence.</param>
/// <param name="Threshold">The threshold in force when it was routed.</param>
public sealed record AutomaticRoute(string Mailbox, string Fingerprint, string? DecisionId, string ModelVersion, string Label, float Confidence,
    float Threshold);

/// <summary>A change of a label's threshold in force, made in service.</summary>
/// <param name="Seq">Its sequence number.</param>
/// <param name="Time">When.</param>
/// <param name="ModelVersion">The model it applies to.</param>
/// <param name="Label">The label.</param>
/// <param name="From">Before (<see langword="null"/>: manual-only).</param>
/// <param name="To">After (<see langword="null"/>: manual-only).</param>
/// <param name="Outcome"><c>threshold-raised</c>, <c>threshold-lowered</c> or <c>manual-only</c>.</param>
/// <param name="Automated">Automatic routes of the label counted by then.</param>
/// <param name="Wrong">Of those, corrected.</param>
/// <param name="Reason">Why.</param>
public sealed record ThresholdChangeRecord(long Seq, DateTimeOffset Time, string ModelVersion, string Label, float? From, float? To,
    string Outcome, int Automated, int Wrong, string Reason)
{
    /// <summary>The audit outcome of <paramref name="outcome"/>.</summary>
    /// <param name="outcome">The outcome.</param>
    /// <returns><c>threshold-raised</c>, <c>threshold-lowered</c> or <c>manual-only</c>.</returns>
    public static string OutcomeName(ThresholdOutcome outcome) => outcome switch
    {
        ThresholdOutcome.Raised => "threshold-raised",
        ThresholdOutcome.Lowered => "threshold-lowered",
        _ => "manual-only",
    };
}
