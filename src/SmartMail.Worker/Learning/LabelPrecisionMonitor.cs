using SmartMail.Core.Classification;
using SmartMail.Core.Routing;
using SmartMail.Worker.Options;
using SmartMail.Worker.State;

namespace SmartMail.Worker.Learning;

/// <summary>
/// Closes the loop in service: every automatic (model) route counts for its (model version, label), every correction of
/// such a mail (IMAP MOVE/COPY, <c>smartmail correct</c>, the web app: all through <see cref="CorrectionRecorder"/>)
/// counts it wrong, and realised precision is 1 − wrong/automated. When a label's corrections run above what the target
/// precision allows, <see cref="ThresholdTracker"/> raises its threshold, or makes it manual-only, without a retrain;
/// every change of a threshold in force is an audit row (source <c>threshold</c>) and a line of audit.jsonl. The state
/// lives in the state database (it survives restarts, per model version: a new model starts with its own thresholds),
/// and the routing policy reads the overrides through <see cref="IThresholdOverrides"/>: changes made by another
/// process (<c>smartmail correct</c>) are seen within <see cref="RefreshInterval"/>. Thread-safe.
/// </summary>
public sealed class LabelPrecisionMonitor : IThresholdOverrides
{
    /// <summary>How often the overrides are read again from the database for changes another process made.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);

    private readonly ExampleStore _examples;
    private readonly IStateStore _store;
    private readonly SmartMailOptions _options;
    private readonly TimeProvider _time;
    private readonly ThresholdTracker _tracker;
    private readonly Lock _refresh = new();
    private volatile Snapshot _snapshot = new(-1, DateTimeOffset.MinValue, new Dictionary<(string, string), ThresholdOverride>());

    /// <summary>Creates the monitor.</summary>
    /// <param name="examples">The example store (its database holds the counts and thresholds).</param>
    /// <param name="store">The ledger and audit trail.</param>
    /// <param name="options">The worker's options (<see cref="SmartMailOptions.Learning"/>, audit.jsonl).</param>
    /// <param name="time">The clock.</param>
    public LabelPrecisionMonitor(ExampleStore examples, IStateStore store, SmartMailOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _examples = examples;
        _store = store;
        _options = options;
        _time = time;
        _tracker = ThresholdTracker.From(options.Learning);
    }

    /// <summary>The rule.</summary>
    public ThresholdTracker Tracker => _tracker;

    /// <summary>Counts the automatic routes among decisions just recorded (their audit rows); other decisions are ignored.</summary>
    /// <param name="decisions">The decisions' audit rows.</param>
    /// <returns>The changes of thresholds in force this caused (already audited).</returns>
    public IReadOnlyList<ThresholdChangeRecord> Routed(IEnumerable<AuditEntry> decisions)
    {
        ArgumentNullException.ThrowIfNull(decisions);
        var routes = decisions
            .Where(d => d.Source == "model" && d.Label is not null && d.ModelVersion is not null && d.Threshold is not null)
            .Select(d => new AutomaticRoute(d.Mailbox, d.Fingerprint, d.DecisionId, d.ModelVersion!, d.Label!, d.Confidence ?? 0, d.Threshold!.Value))
            .ToList();
        return Routed(routes);
    }

    /// <summary>Counts automatic routes.</summary>
    /// <param name="routes">The routes.</param>
    /// <returns>The changes of thresholds in force this caused (already audited).</returns>
    public IReadOnlyList<ThresholdChangeRecord> Routed(IReadOnlyCollection<AutomaticRoute> routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var changes = _examples.CountAutomaticRoutes(routes, _tracker, _options.Learning.AdjustThresholds, _time.GetUtcNow());
        Audit(_store, _options, changes, routes.FirstOrDefault()?.Mailbox ?? "");
        if (changes.Count > 0)
        {
            Refresh(force: true);
        }
        return changes;
    }

    /// <summary>Counts a correction (called by <see cref="CorrectionRecorder.Record"/>, in whatever process recorded it).</summary>
    /// <param name="store">The ledger and audit trail.</param>
    /// <param name="examples">The example store.</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="correction">The correction.</param>
    /// <returns>The change of the threshold in force it caused, if any (already audited).</returns>
    public static ThresholdChangeRecord? Corrected(IStateStore store, ExampleStore examples, SmartMailOptions options, Correction correction)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(correction);
        var (_, change) = examples.CountCorrectedRoute(correction.Mailbox, correction.Fingerprint, correction.ToLabel,
            ThresholdTracker.From(options.Learning), options.Learning.AdjustThresholds, correction.Time);
        if (change is not null)
        {
            Audit(store, options, [change], correction.Mailbox);
        }
        return change;
    }

    /// <inheritdoc />
    public ThresholdOverride? Find(string modelVersion, string label)
    {
        if (!_options.Learning.AdjustThresholds)
        {
            return null;
        }
        var snapshot = _snapshot;
        if (_time.GetUtcNow() - snapshot.Read >= RefreshInterval)
        {
            snapshot = Refresh(force: false);
        }
        return snapshot.Overrides.GetValueOrDefault((modelVersion, label));
    }

    /// <summary>Per label of <paramref name="modelVersion"/>: automatic routes, corrected ones, realised precision and its bound, the threshold in force.</summary>
    /// <param name="examples">The example store.</param>
    /// <param name="options">The worker's options.</param>
    /// <param name="modelVersion">The model version.</param>
    /// <returns>One row per label with automatic routes, by label.</returns>
    public static IReadOnlyList<LabelPrecisionReport> Report(ExampleStore examples, SmartMailOptions options, string modelVersion)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(options);
        var confidence = 0.95;
        return [.. examples.ReadLabelThresholds(modelVersion).Select(s => new LabelPrecisionReport(
            s.Label, s.Automated, s.Wrong, s.RealisedPrecision,
            s.Automated == 0 ? null : ClopperPearsonLower(s.Automated - s.Wrong, s.Automated, confidence),
            options.Learning.TargetPrecision, s.ModelThreshold,
            options.Learning.AdjustThresholds ? s.Threshold : s.ModelThreshold,
            options.Learning.AdjustThresholds && s.ManualOnly))];
    }

    /// <summary>The one-sided Clopper–Pearson lower bound of a proportion: the smallest p with P(X ≥ k | n, p) &gt; 1 − confidence.</summary>
    /// <param name="k">Right.</param>
    /// <param name="n">Trials.</param>
    /// <param name="confidence">e.g. 0.95.</param>
    /// <returns>The bound (0 when <paramref name="k"/> is 0).</returns>
    public static double ClopperPearsonLower(int k, int n, double confidence)
    {
        if (k <= 0 || n <= 0)
        {
            return 0;
        }
        double lo = 0, hi = 1;
        for (var i = 0; i < 60; i++)
        {
            var mid = (lo + hi) / 2;
            if (Precision.BinomialUpperTail(k, n, mid) <= 1 - confidence)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private static void Audit(IStateStore store, SmartMailOptions options, IReadOnlyList<ThresholdChangeRecord> changes, string mailbox)
    {
        if (changes.Count == 0)
        {
            return;
        }
        var rows = changes.Select(c => new AuditEntry
        {
            Time = c.Time,
            DecisionId = "",
            Fingerprint = "",
            Mailbox = mailbox,
            Source = "threshold",
            Label = c.Label,
            Threshold = c.To,
            ModelVersion = c.ModelVersion,
            Reason = c.Reason,
            Destination = "",
            Outcome = c.Outcome,
        }).ToList();
        foreach (var row in rows)
        {
            store.AppendAudit(row);
        }
        if (options.AuditJsonLines)
        {
            new AuditJsonLinesWriter(Path.Combine(options.DataDirectory, "audit.jsonl")).AppendAll(rows);
        }
    }

    private Snapshot Refresh(bool force)
    {
        lock (_refresh)
        {
            var now = _time.GetUtcNow();
            var current = _snapshot;
            if (!force && now - current.Read < RefreshInterval)
            {
                return current;
            }
            var last = _examples.LastThresholdChange();
            if (!force && last == current.LastChange)
            {
                return _snapshot = current with { Read = now };
            }
            var overrides = _examples.ReadOverrides().ToDictionary(o => o.Key, o => new ThresholdOverride(o.Value.Threshold, o.Value.Reason));
            return _snapshot = new Snapshot(last, now, overrides);
        }
    }

    private sealed record Snapshot(long LastChange, DateTimeOffset Read, IReadOnlyDictionary<(string, string), ThresholdOverride> Overrides);
}

/// <summary>How one label keeps its promise in service, for one model version.</summary>
/// <param name="Label">The label.</param>
/// <param name="Automated">Mails the model routed to it alone.</param>
/// <param name="Corrected">Of those, corrected by a person.</param>
/// <param name="RealisedPrecision">1 − corrected/automated; <see langword="null"/> with no automatic routes.</param>
/// <param name="LowerBound">Its one-sided 95 % Clopper–Pearson lower bound.</param>
/// <param name="TargetPrecision">The target.</param>
/// <param name="ModelThreshold">The model's own threshold.</param>
/// <param name="Threshold">The threshold in force; <see langword="null"/> when manual-only.</param>
/// <param name="ManualOnly">Whether the label was made manual-only in service.</param>
public sealed record LabelPrecisionReport(string Label, int Automated, int Corrected, double? RealisedPrecision, double? LowerBound,
    double TargetPrecision, float ModelThreshold, float? Threshold, bool ManualOnly);
