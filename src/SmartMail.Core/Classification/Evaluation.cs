namespace SmartMail.Core.Classification;

/// <summary>Per-label and overall quality of a model on labeled data, at given thresholds.</summary>
public sealed record EvaluationReport
{
    /// <summary>The headline numbers.</summary>
    public required EvaluationSummary Summary { get; init; }

    /// <summary>Precision, recall and F1 per label.</summary>
    public required IReadOnlyList<LabelMetrics> PerLabel { get; init; }

    /// <summary>Label order of <see cref="Confusion"/> rows (actual) and columns (predicted).</summary>
    public required IReadOnlyList<string> ConfusionLabels { get; init; }

    /// <summary>Counts: <c>Confusion[actual][predicted]</c>.</summary>
    public required int[][] Confusion { get; init; }
}

/// <summary>The headline numbers of an evaluation.</summary>
/// <param name="Documents">Documents evaluated.</param>
/// <param name="Accuracy">Share whose top label was right.</param>
/// <param name="MacroF1">Unweighted mean of per-label F1.</param>
/// <param name="AutomationRate">Share confident enough to be routed without a person.</param>
/// <param name="AutomatedPrecision">Share of those automatic routes that were right.</param>
/// <param name="TargetPrecision">The precision the thresholds aim at, if known.</param>
public sealed record EvaluationSummary(int Documents, double Accuracy, double MacroF1, double AutomationRate,
    double AutomatedPrecision, double? TargetPrecision)
{
    /// <summary>
    /// The precision–automation curve of the scores (see <see cref="Evaluator.PrecisionAutomationCurve"/>);
    /// <see langword="null"/> in manifests written before it was kept there.
    /// </summary>
    public IReadOnlyList<CurvePoint>? Curve { get; init; }
}

/// <summary>One point of a precision–automation curve.</summary>
/// <param name="MinConfidence">The confidence cut: documents at least this confident are routed.</param>
/// <param name="AutomationRate">Share of the documents routed at this cut.</param>
/// <param name="Precision">Share of those routes that were right.</param>
public sealed record CurvePoint(float MinConfidence, double AutomationRate, double Precision);

/// <summary>How <see cref="Evaluator.ChooseThresholds(IReadOnlyList{ScoredExample}, IReadOnlyList{string}, double, ThresholdOptions)"/> decides that a cut keeps the target precision.</summary>
public enum ThresholdMethod
{
    /// <summary>The share right among the held-out routes at the cut reaches the target.</summary>
    PointEstimate,

    /// <summary>The one-sided Clopper–Pearson (exact binomial) lower bound at <see cref="ThresholdOptions.Confidence"/> reaches the target.</summary>
    ClopperPearson,

    /// <summary>The one-sided Wilson score lower bound reaches the target.</summary>
    Wilson,

    /// <summary>
    /// Learn then Test (Angelopoulos et al. 2022) with fixed-sequence testing: the exact binomial test of
    /// "precision below target" is rejected cut by cut from the most confident down; the walk stops at the first
    /// cut that fails.
    /// </summary>
    LearnThenTest,
}

/// <summary>The rule by which per-label thresholds are chosen.</summary>
public sealed record ThresholdOptions
{
    /// <summary>The test at each cut.</summary>
    public ThresholdMethod Method { get; init; } = ThresholdMethod.ClopperPearson;

    /// <summary>Confidence of the lower bound (1 − δ), for the bound-based methods.</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>Fewest held-out routes a cut needs.</summary>
    public int MinSupport { get; init; } = Evaluator.MinThresholdSupport;

    /// <summary>Added to the target precision before testing (a fixed allowance for drift).</summary>
    public double Margin { get; init; }

    /// <summary>
    /// When a label has fewer held-out routes than a flawless record needs to pass the bound (e.g. 45 for the
    /// 90 % Clopper–Pearson bound at 0.95), its threshold is chosen by the point estimate instead of leaving it
    /// manual-only: small training sets keep routing as before, and the bound applies wherever the data can carry it.
    /// </summary>
    public bool PointEstimateBelowBoundSupport { get; init; } = true;

    /// <summary>
    /// Whether a label that fails its own test gets the single cut that passes on all labels' held-out routes pooled,
    /// when its own routes at that cut reach the target by the point estimate. Measured, not the default.
    /// </summary>
    public bool PooledFallback { get; init; }

    /// <summary>
    /// Whether the evidence of all labels is pooled (see <see cref="Evaluator.Choose"/>): one shared threshold passes the
    /// test on every label's validation routes together, and a label gets its own only where its own routes pass the
    /// test at a lower cut, or show it below target at the shared one. On 16–20 validation mails per label a label's
    /// own bound is mostly noise; the pooled one is not. The default for training.
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>
    /// Confidence of the Clopper–Pearson bound the shared threshold is tested with on the pooled evidence (see
    /// <see cref="Shared"/>). 0.5 is the exact binomial median: on hundreds of pooled routes it is close to the point
    /// estimate, and out-of-fold models, trained on less, are less sure than the final one, which keeps the margin
    /// (measured in docs/model.md: the 95 % bound gave up a quarter of the safe automation). Own thresholds keep
    /// <see cref="Confidence"/>.
    /// </summary>
    public double SharedConfidence { get; init; } = 0.5;

    /// <summary>
    /// Whether the shared threshold is tested on the pooled evidence smoothed by isotonic regression (see
    /// <see cref="Evaluator.IsotonicPooledCut"/>) rather than on the raw counts of right routes at each cut. The raw
    /// share right above a cut wanders around the target where the precision curve is flat, and its lowest passing cut
    /// jumps with the folds; the isotonic expectation falls monotonically as the cut falls, so it crosses the target
    /// once, and a stretch of equally sure mail counts by its average, not by the order of its last few mails.
    /// </summary>
    public bool SharedIsotonic { get; init; } = true;

    /// <summary>A short name of the rule for manifests and reports, e.g. <c>wilson-0.9</c>.</summary>
    public string Name => Method switch
    {
        ThresholdMethod.PointEstimate => "point-estimate",
        ThresholdMethod.ClopperPearson => $"clopper-pearson-{Confidence.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}",
        ThresholdMethod.Wilson => $"wilson-{Confidence.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}",
        _ => $"learn-then-test-{(1 - Confidence).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}",
    } + (Margin > 0 ? $"+{Margin.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}" : "") + (PooledFallback ? "+pooled" : "") + (Shared && SharedIsotonic ? "+shared-isotonic" : Shared ? $"+shared-{SharedConfidence.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}" : "");
}

/// <summary>Quality for one label.</summary>
/// <param name="Label">The label.</param>
/// <param name="Support">Documents whose true label this is.</param>
/// <param name="Precision">Right share of the documents predicted as this label.</param>
/// <param name="Recall">Share of this label's documents predicted as it.</param>
/// <param name="F1">Harmonic mean of precision and recall.</param>
/// <param name="Threshold">The threshold in force, <see langword="null"/> when manual-only.</param>
/// <param name="Automated">Documents routed automatically as this label.</param>
/// <param name="AutomatedPrecision">Right share of those.</param>
public sealed record LabelMetrics(string Label, int Support, double Precision, double Recall, double F1,
    float? Threshold, int Automated, double AutomatedPrecision);

/// <summary>One scored document: truth and prediction.</summary>
/// <param name="Actual">The true label.</param>
/// <param name="Predicted">The prediction.</param>
public sealed record ScoredExample(string Actual, Prediction Predicted);

/// <summary>Computes metrics and chooses thresholds.</summary>
public static class Evaluator
{
    /// <summary>The fewest automatic routes a label's threshold must be supported by on held-out data.</summary>
    public const int MinThresholdSupport = 5;

    /// <summary>Evaluates scored examples at the given thresholds.</summary>
    /// <param name="scored">Truth and prediction per document.</param>
    /// <param name="labels">The labels to report, in order (labels only seen as truth are added).</param>
    /// <param name="thresholds">Threshold per label; missing or <see langword="null"/> means manual-only.</param>
    /// <param name="targetPrecision">Recorded in the summary.</param>
    /// <returns>The report.</returns>
    public static EvaluationReport Evaluate(IReadOnlyList<ScoredExample> scored, IReadOnlyList<string> labels,
        IReadOnlyDictionary<string, float?> thresholds, double? targetPrecision = null)
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(thresholds);
        var order = labels.Concat(scored.Select(s => s.Actual)).Distinct(StringComparer.Ordinal).ToList();
        var index = order.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var confusion = order.Select(_ => new int[order.Count]).ToArray();
        var automated = new int[order.Count];
        var automatedRight = new int[order.Count];
        var right = 0;
        foreach (var s in scored)
        {
            var a = index[s.Actual];
            var p = index[s.Predicted.Label];
            confusion[a][p]++;
            if (a == p)
            {
                right++;
            }
            if (IsAutomatic(s.Predicted, thresholds))
            {
                automated[p]++;
                if (a == p)
                {
                    automatedRight[p]++;
                }
            }
        }

        var perLabel = new List<LabelMetrics>(order.Count);
        for (var i = 0; i < order.Count; i++)
        {
            var tp = confusion[i][i];
            var predicted = confusion.Sum(row => row[i]);
            var support = confusion[i].Sum();
            var precision = Ratio(tp, predicted);
            var recall = Ratio(tp, support);
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perLabel.Add(new LabelMetrics(order[i], support, precision, recall, f1,
                thresholds.GetValueOrDefault(order[i]), automated[i], Ratio(automatedRight[i], automated[i])));
        }
        var withSupport = perLabel.Where(l => l.Support > 0).ToList();
        var summary = new EvaluationSummary(
            scored.Count,
            Ratio(right, scored.Count),
            withSupport.Count == 0 ? 0 : withSupport.Average(l => l.F1),
            Ratio(automated.Sum(), scored.Count),
            Ratio(automatedRight.Sum(), automated.Sum()),
            targetPrecision)
        {
            Curve = PrecisionAutomationCurve(scored),
        };
        return new EvaluationReport { Summary = summary, PerLabel = perLabel, ConfusionLabels = order, Confusion = confusion };
    }

    /// <summary>Whether a prediction is confident enough to route without a person.</summary>
    /// <param name="prediction">The prediction.</param>
    /// <param name="thresholds">Per-label thresholds.</param>
    /// <returns><see langword="true"/> when the top label has a threshold and the confidence reaches it.</returns>
    public static bool IsAutomatic(Prediction prediction, IReadOnlyDictionary<string, float?> thresholds)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(thresholds);
        return thresholds.GetValueOrDefault(prediction.Label) is { } t && prediction.Confidence >= t;
    }

    /// <summary>
    /// Chooses, per label, the lowest confidence threshold at which the automatic routes to that label reach
    /// <paramref name="targetPrecision"/> on held-out data by the point estimate, supported by at least
    /// <see cref="MinThresholdSupport"/> routes. A label that never reaches it gets <see langword="null"/> (manual-only).
    /// </summary>
    /// <param name="scored">Held-out truth and predictions.</param>
    /// <param name="labels">The model's labels.</param>
    /// <param name="targetPrecision">The precision to reach, e.g. 0.95.</param>
    /// <returns>Threshold per label.</returns>
    public static Dictionary<string, float?> ChooseThresholds(IReadOnlyList<ScoredExample> scored, IReadOnlyList<string> labels,
        double targetPrecision) =>
        ChooseThresholds(scored, labels, targetPrecision, new ThresholdOptions { Method = ThresholdMethod.PointEstimate });

    /// <summary>
    /// Chooses, per label, the lowest confidence threshold at which the automatic routes to that label keep
    /// <paramref name="targetPrecision"/> on held-out data by the rule in <paramref name="options"/>. A label that never
    /// does gets <see langword="null"/> (manual-only).
    /// </summary>
    /// <param name="scored">Held-out truth and predictions.</param>
    /// <param name="labels">The model's labels.</param>
    /// <param name="targetPrecision">The precision to keep, e.g. 0.95.</param>
    /// <param name="options">The rule.</param>
    /// <returns>Threshold per label.</returns>
    public static Dictionary<string, float?> ChooseThresholds(IReadOnlyList<ScoredExample> scored, IReadOnlyList<string> labels,
        double targetPrecision, ThresholdOptions options)
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        var result = new Dictionary<string, float?>(StringComparer.Ordinal);
        var target = Math.Min(targetPrecision + options.Margin, 1.0);
        foreach (var label in labels)
        {
            // Walk this label's predictions from most to least confident; the routes at each cut are everything at
            // least that confident.
            var ranked = scored.Where(s => s.Predicted.Label == label)
                .OrderByDescending(s => s.Predicted.Confidence).ToList();
            float? best = null;
            var correct = 0;
            var tested = false;
            // Too few held-out routes for even a flawless record to pass the bound: the bound cannot tell, and the
            // point estimate decides (as it always does for the point-estimate method).
            var method = options.Method != ThresholdMethod.PointEstimate && options.PointEstimateBelowBoundSupport
                && !Passes(options.Method, ranked.Count, ranked.Count, target, options.Confidence)
                ? ThresholdMethod.PointEstimate
                : options.Method;
            for (var i = 0; i < ranked.Count; i++)
            {
                if (ranked[i].Actual == label)
                {
                    correct++;
                }
                var isCut = i + 1 == ranked.Count || ranked[i + 1].Predicted.Confidence < ranked[i].Predicted.Confidence;
                if (!isCut || i + 1 < options.MinSupport)
                {
                    continue;
                }
                var n = i + 1;
                var keeps = Passes(method, correct, n, target, options.Confidence);
                if (method == ThresholdMethod.LearnThenTest)
                {
                    // Fixed-sequence testing (Learn then Test): cuts are tested from the most confident down, and
                    // the first cut that fails ends the walk, so the chosen cut holds at level δ for the label.
                    if (keeps)
                    {
                        best = ranked[i].Predicted.Confidence;
                        tested = true;
                    }
                    else if (tested)
                    {
                        break;
                    }
                    continue;
                }
                if (keeps)
                {
                    best = ranked[i].Predicted.Confidence;
                }
            }
            result[label] = best;
        }
        if (options.PooledFallback && options.Method != ThresholdMethod.PointEstimate)
        {
            // One cut for all labels, tested on every held-out route pooled; a label that failed its own test gets
            // it when its own routes at that cut are at least target-precise by the point estimate.
            if (PooledCut(scored, targetPrecision, options with { PooledFallback = false }) is { } cut)
            {
                foreach (var label in labels.Where(l => result[l] is null))
                {
                    var routes = scored.Where(s => s.Predicted.Label == label && s.Predicted.Confidence >= cut).ToList();
                    if (routes.Count >= options.MinSupport && routes.Count(s => s.Actual == label) >= target * routes.Count)
                    {
                        result[label] = cut;
                    }
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Chooses thresholds, and says per label in plain words why. With <see cref="ThresholdOptions.Shared"/>: the shared
    /// threshold is the lowest cut whose routes, all labels pooled, pass the test; a label's own threshold is the lowest
    /// cut its own routes pass the test at (the bound only: no point estimate on few mails). A label uses its own where it
    /// is lower than the shared one (its evidence supports more automation), else the shared one, unless its own routes at
    /// the shared cut are below target with the test's confidence: then its own (higher) threshold, or none.
    /// Without <see cref="ThresholdOptions.Shared"/> it is <see cref="ChooseThresholds(IReadOnlyList{ScoredExample}, IReadOnlyList{string}, double, ThresholdOptions)"/>.
    /// </summary>
    /// <param name="scored">Validation truth and predictions.</param>
    /// <param name="labels">The model's labels.</param>
    /// <param name="targetPrecision">The precision to keep, e.g. 0.95.</param>
    /// <param name="options">The rule.</param>
    /// <returns>The thresholds, the shared one and a note per label.</returns>
    public static ThresholdChoice Choose(IReadOnlyList<ScoredExample> scored, IReadOnlyList<string> labels, double targetPrecision, ThresholdOptions options)
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        var target = Math.Min(targetPrecision + options.Margin, 1.0);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        var notes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!options.Shared)
        {
            var plain = ChooseThresholds(scored, labels, targetPrecision, options);
            var alone = options.PooledFallback ? ChooseThresholds(scored, labels, targetPrecision, options with { PooledFallback = false }) : plain;
            var pooled = options.PooledFallback && options.Method != ThresholdMethod.PointEstimate
                ? PooledCut(scored, targetPrecision, options with { PooledFallback = false })
                : null;
            foreach (var label in labels)
            {
                var mine = scored.Where(s => s.Predicted.Label == label).ToList();
                var at = plain[label] is { } t ? mine.Where(s => s.Predicted.Confidence >= t).ToList() : mine;
                var (k, n) = (at.Count(s => s.Actual == label), at.Count);
                if (plain[label] is null && pooled is { } g)
                {
                    // Below target at the pooled cut: a stricter cut its own routes reach the target at by the point
                    // estimate (the test the pooled cut applies to a label), else its most confident mail only.
                    var (k0, n0) = (mine.Count(s => s.Actual == label && s.Predicted.Confidence >= g), mine.Count(s => s.Predicted.Confidence >= g));
                    var stricter = Stricter(mine, label, g, targetPrecision, options with { Method = ThresholdMethod.PointEstimate, PooledFallback = false }, options);
                    plain[label] = stricter.Cut;
                    notes[label] = StricterNote(stricter, "pooled", g, k0, n0, target, options.Confidence);
                    continue;
                }
                notes[label] = plain[label] is { } cut
                    ? alone[label] is null
                        ? string.Create(culture, $"pooled threshold {cut:F3} (its own evidence does not pass the bound alone): {k} of {n} of its validation mail right at or above it")
                        : string.Create(culture, $"own threshold {cut:F3}: {k} of {n} of its validation mail right at or above it")
                    : string.Create(culture, $"manual only: no confidence level keeps {target:P0} on its validation mail with {options.Confidence:P0} confidence ({k} of {n} predicted as this label were right)");
            }
            return new ThresholdChoice(plain, null, notes);
        }
        var strict = options with { Shared = false, PooledFallback = false, PointEstimateBelowBoundSupport = false };
        var shared = options.SharedIsotonic
            ? IsotonicPooledCut(scored, targetPrecision, strict)
            : PooledCut(scored, targetPrecision, strict with { Confidence = options.SharedConfidence });
        var own = ChooseThresholds(scored, labels, targetPrecision, strict);
        var result = new Dictionary<string, float?>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            var mine = scored.Where(s => s.Predicted.Label == label).ToList();
            (int Right, int Routes) At(float cut)
            {
                var routes = mine.Where(s => s.Predicted.Confidence >= cut).ToList();
                return (routes.Count(s => s.Actual == label), routes.Count);
            }
            if (own[label] is { } o && (shared is not { } g0 || o < g0))
            {
                var (k, n) = At(o);
                result[label] = o;
                notes[label] = string.Create(culture, $"own threshold {o:F3}: {k} of {n} of its validation mail right at or above it");
                continue;
            }
            if (shared is { } g)
            {
                var (k, n) = At(g);
                if (!Below(k, n, target, options.Confidence))
                {
                    result[label] = g;
                    notes[label] = n < options.MinSupport
                        ? string.Create(culture, $"shared threshold {g:F3}: too little evidence of its own ({n} validation mail at or above it), it follows all labels' evidence")
                        : string.Create(culture, $"shared threshold {g:F3}: {k} of {n} of its validation mail right at or above it");
                    continue;
                }
                // Raised: the lowest cut above the shared one where its own routes reach the target by the rule the
                // shared threshold passed (its bound on the pooled routes), else its most confident mail only.
                var stricter = Stricter(mine, label, g, targetPrecision, strict with { Confidence = options.SharedConfidence }, options);
                result[label] = stricter.Cut;
                notes[label] = StricterNote(stricter, "shared", g, k, n, target, options.Confidence);
                continue;
            }
            result[label] = null;
            var right = mine.Count(s => s.Actual == label);
            notes[label] = string.Create(culture,
                $"manual only: the target {target:P0} is not reachable on the validation mail ({right} of {mine.Count} predicted as this label were right, no confidence level keeps the target)");
        }
        return new ThresholdChoice(result, shared, notes);
    }

    // The single cut for all labels: the rule applied to every validation route pooled, whatever its label.
    private static float? PooledCut(IReadOnlyList<ScoredExample> scored, double targetPrecision, ThresholdOptions options) =>
        ChooseThresholds(
            [.. scored.Select(s => new ScoredExample(s.Actual == s.Predicted.Label ? "*" : "-", s.Predicted with { Label = "*" }))],
            ["*"], targetPrecision, options)["*"];

    /// <summary>
    /// The single cut for all labels on the pooled evidence smoothed by isotonic regression: the share right at each
    /// confidence is fitted by pool-adjacent-violators as a function that does not rise as confidence falls (the
    /// maximum-likelihood estimate of a precision-at-confidence that is monotone), and the cut is the lowest confidence
    /// at which the fitted share right above it reaches the target (the expectation: the fit already pools the evidence
    /// of a stretch; at least <see cref="ThresholdOptions.MinSupport"/> routes above it). The fitted share above a
    /// cut falls monotonically as the cut falls, so it crosses the target once; within a stretch the fit pools, the
    /// order of right and wrong mails does not matter, which is what moves with the fold assignment.
    /// </summary>
    /// <param name="scored">Validation truth and predictions, all labels.</param>
    /// <param name="targetPrecision">The precision to keep.</param>
    /// <param name="options">The margin and the fewest routes.</param>
    /// <returns>The cut, or <see langword="null"/> when none passes.</returns>
    internal static float? IsotonicPooledCut(IReadOnlyList<ScoredExample> scored, double targetPrecision, ThresholdOptions options)
    {
        var target = Math.Min(targetPrecision + options.Margin, 1.0);
        // One group per distinct confidence, most confident first (ties share one fitted value).
        var groups = scored.GroupBy(s => s.Predicted.Confidence).OrderByDescending(g => g.Key)
            .Select(g => (Confidence: g.Key, Right: (double)g.Count(s => s.Actual == s.Predicted.Label), Count: g.Count())).ToList();
        // Pool adjacent violators: a block less precise than the one after it (less confident) merges with it.
        var blocks = new List<(double Right, int Count, int Groups)>(groups.Count);
        foreach (var (_, right, count) in groups)
        {
            blocks.Add((right, count, 1));
            while (blocks.Count > 1 && blocks[^2].Right * blocks[^1].Count < blocks[^1].Right * blocks[^2].Count)
            {
                var last = blocks[^1];
                blocks.RemoveAt(blocks.Count - 1);
                blocks[^1] = (blocks[^1].Right + last.Right, blocks[^1].Count + last.Count, blocks[^1].Groups + last.Groups);
            }
        }
        float? best = null;
        double expected = 0;
        var routes = 0;
        var g = 0;
        foreach (var (right, count, groupCount) in blocks)
        {
            var share = right / count;
            for (var j = 0; j < groupCount; j++, g++)
            {
                routes += groups[g].Count;
                expected += share * groups[g].Count;
                if (routes >= options.MinSupport && expected >= target * routes)
                {
                    best = groups[g].Confidence;
                }
            }
        }
        return best;
    }

    // Below target with the given confidence: the one-sided upper bound of k right out of n is under it.
    private static bool Below(int k, int n, double target, double confidence) =>
        n > 0 && 1 - Precision.BinomialUpperTail(k + 1, n, target) <= 1 - confidence;

    private enum StricterKind
    {
        Raised,
        MostConfident,
        TooLittleEvidence,
        BelowEvenAtTheTop,
    }

    private readonly record struct StricterCut(float? Cut, StricterKind Kind, int Right, int Routes);

    // For a label whose routes at the pooled or shared cut are below target: the lowest cut above it where its own
    // routes pass `raise`; where none does, its most confident cut with at least MinSupport routes, unless even those
    // are below target with the options' confidence. A label with hundreds of mails and weak separation so routes its
    // surest mail instead of none; only a label with fewer routes than MinSupport above the cut, or whose surest mail
    // is shown below target, stays manual.
    private static StricterCut Stricter(List<ScoredExample> mine, string label, float from, double targetPrecision, ThresholdOptions raise, ThresholdOptions options)
    {
        var target = Math.Min(targetPrecision + options.Margin, 1.0);
        var ranked = mine.Where(s => s.Predicted.Confidence >= from).OrderByDescending(s => s.Predicted.Confidence).ToList();
        if (ChooseThresholds(ranked, [label], targetPrecision, raise)[label] is { } raised)
        {
            var routes = ranked.Where(s => s.Predicted.Confidence >= raised).ToList();
            return new StricterCut(raised, StricterKind.Raised, routes.Count(s => s.Actual == label), routes.Count);
        }
        var right = 0;
        for (var i = 0; i < ranked.Count; i++)
        {
            if (ranked[i].Actual == label)
            {
                right++;
            }
            var isCut = i + 1 == ranked.Count || ranked[i + 1].Predicted.Confidence < ranked[i].Predicted.Confidence;
            if (isCut && i + 1 >= options.MinSupport)
            {
                return Below(right, i + 1, target, options.Confidence)
                    ? new StricterCut(null, StricterKind.BelowEvenAtTheTop, right, i + 1)
                    : new StricterCut(ranked[i].Predicted.Confidence, StricterKind.MostConfident, right, i + 1);
            }
        }
        return new StricterCut(null, StricterKind.TooLittleEvidence, right, ranked.Count);
    }

    private static string StricterNote(StricterCut stricter, string kind, float cut, int k, int n, double target, double confidence)
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        var at = string.Create(culture, $"at the {kind} threshold {cut:F3} only {k} of {n} of its validation mail were right");
        return stricter switch
        {
            { Kind: StricterKind.Raised, Cut: { } c } => string.Create(culture,
                $"raised threshold {c:F3}: {at}; {stricter.Right} of {stricter.Routes} at or above it"),
            { Kind: StricterKind.MostConfident, Cut: { } c } => string.Create(culture,
                $"strict threshold {c:F3}: {at}, and no lower confidence keeps {target:P0}; only its most confident mail is routed ({stricter.Right} of {stricter.Routes} right at or above it)"),
            { Kind: StricterKind.TooLittleEvidence } => string.Create(culture,
                $"manual only: too little evidence: only {n} of its validation mail at or above the {kind} threshold {cut:F3}, {k} of them right"),
            _ => string.Create(culture,
                $"manual only: {at}, and even its most confident mail is below {target:P0} with {confidence:P0} confidence ({stricter.Right} of {stricter.Routes} right)"),
        };
    }

    private static bool Passes(ThresholdMethod method, int correct, int n, double target, double confidence) => method switch
    {
        ThresholdMethod.PointEstimate => (double)correct / n >= target,
        ThresholdMethod.Wilson => Precision.WilsonLower(correct, n, confidence) >= target,
        _ => Precision.BinomialUpperTail(correct, n, target) <= 1 - confidence,
    };

    /// <summary>
    /// The precision–automation curve: for confidence cuts that route 5 %, 10 %, … 100 % of the documents (one cut
    /// for all labels), the cut and the precision of what it routes; the curve of the scores, whatever thresholds ship.
    /// </summary>
    /// <param name="scored">Truth and prediction per document.</param>
    /// <param name="steps">Points on the curve.</param>
    /// <returns>The points, from least to most automation.</returns>
    public static IReadOnlyList<CurvePoint> PrecisionAutomationCurve(IReadOnlyList<ScoredExample> scored, int steps = 20)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var ranked = scored.OrderByDescending(s => s.Predicted.Confidence).ToList();
        var points = new List<CurvePoint>(steps);
        if (ranked.Count == 0)
        {
            return points;
        }
        var correct = 0;
        var step = 1;
        for (var i = 0; i < ranked.Count && step <= steps; i++)
        {
            if (ranked[i].Actual == ranked[i].Predicted.Label)
            {
                correct++;
            }
            var isCut = i + 1 == ranked.Count || ranked[i + 1].Predicted.Confidence < ranked[i].Predicted.Confidence;
            if (isCut && i + 1 >= (double)step * ranked.Count / steps - 1e-9)
            {
                points.Add(new CurvePoint(ranked[i].Predicted.Confidence, (double)(i + 1) / ranked.Count, (double)correct / (i + 1)));
                while (step <= steps && i + 1 >= (double)step * ranked.Count / steps - 1e-9)
                {
                    step++;
                }
            }
        }
        return points;
    }

    /// <summary>
    /// The largest share of the documents a model can route automatically with one confidence cut while the automatic
    /// routes keep <paramref name="targetPrecision"/>: the point of its precision-coverage curve at that precision. It
    /// depends only on the scores, not on any thresholds, so two models are compared on equal terms on the same data.
    /// </summary>
    /// <param name="scored">Truth and prediction per document.</param>
    /// <param name="targetPrecision">The precision to keep.</param>
    /// <returns>The share routed (0 when no cut reaches the precision) and the precision at that cut.</returns>
    public static (double Coverage, double Precision) AutomationAtPrecision(IReadOnlyList<ScoredExample> scored, double targetPrecision)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var ranked = scored.OrderByDescending(s => s.Predicted.Confidence).ToList();
        var best = (Coverage: 0.0, Precision: 0.0);
        var correct = 0;
        for (var i = 0; i < ranked.Count; i++)
        {
            if (ranked[i].Actual == ranked[i].Predicted.Label)
            {
                correct++;
            }
            var isCut = i + 1 == ranked.Count || ranked[i + 1].Predicted.Confidence < ranked[i].Predicted.Confidence;
            var precision = (double)correct / (i + 1);
            if (isCut && precision >= targetPrecision)
            {
                best = ((double)(i + 1) / ranked.Count, precision);
            }
        }
        return best;
    }

    private static double Ratio(int a, int b) => b == 0 ? 0 : (double)a / b;
}

/// <summary>Thresholds chosen on validation mail, with why.</summary>
/// <param name="Thresholds">Threshold per label; <see langword="null"/> for manual only.</param>
/// <param name="Shared">The threshold all labels' pooled evidence supports, if any.</param>
/// <param name="Notes">Per label, in plain words, which threshold it got and on what evidence.</param>
public sealed record ThresholdChoice(Dictionary<string, float?> Thresholds, float? Shared, IReadOnlyDictionary<string, string> Notes)
{
    /// <summary>
    /// The choices made on several fold assignments' out-of-fold scores combined: each label's threshold (and the shared
    /// one) is the median of theirs, a missing threshold (manual only) counting as the highest; each label keeps the note of
    /// the first choice whose threshold is that median.
    /// </summary>
    /// <param name="choices">One choice per fold assignment, the same labels in each.</param>
    /// <returns>The only choice itself, else the combined one.</returns>
    public static ThresholdChoice Median(IReadOnlyList<ThresholdChoice> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 1)
        {
            return choices[0];
        }
        var thresholds = new Dictionary<string, float?>(StringComparer.Ordinal);
        var notes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in choices[0].Thresholds.Keys)
        {
            var median = MedianOf(choices.Select(c => c.Thresholds.GetValueOrDefault(label)));
            thresholds[label] = median;
            var source = choices.First(c => c.Thresholds.GetValueOrDefault(label) == median);
            if (source.Notes.TryGetValue(label, out var note))
            {
                notes[label] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{note} (the median of {choices.Count} fold assignments)");
            }
        }
        return new ThresholdChoice(thresholds, MedianOf(choices.Select(c => c.Shared)), notes);
    }

    // The middle value (the lower of the two middle ones for an even count); null sorts above every cut.
    private static float? MedianOf(IEnumerable<float?> values)
    {
        var sorted = values.OrderBy(v => v ?? float.PositiveInfinity).ToList();
        return sorted[(sorted.Count - 1) / 2];
    }
}

/// <summary>Bounds on a precision estimated from <c>k</c> right out of <c>n</c>.</summary>
public static class Precision
{
    /// <summary>P(X ≥ <paramref name="k"/>) for X ~ Binomial(<paramref name="n"/>, <paramref name="p"/>): the p-value of
    /// "precision ≤ p" after seeing <paramref name="k"/> right out of <paramref name="n"/>.</summary>
    /// <param name="k">Right.</param>
    /// <param name="n">Trials.</param>
    /// <param name="p">The success probability under test.</param>
    /// <returns>The upper tail probability.</returns>
    public static double BinomialUpperTail(int k, int n, double p)
    {
        if (k <= 0)
        {
            return 1;
        }
        if (k > n || p <= 0)
        {
            return 0;
        }
        if (p >= 1)
        {
            return 1;
        }
        // Sum the terms from k to n in log space, starting at the largest for stability.
        var logP = Math.Log(p);
        var logQ = Math.Log(1 - p);
        var logTerm = LogChoose(n, k) + (k * logP) + ((n - k) * logQ);
        var max = logTerm;
        double sum = 0;
        var terms = new double[n - k + 1];
        terms[0] = logTerm;
        for (var i = k + 1; i <= n; i++)
        {
            logTerm += Math.Log((double)(n - i + 1) / i) + logP - logQ;
            terms[i - k] = logTerm;
            max = Math.Max(max, logTerm);
        }
        foreach (var t in terms)
        {
            sum += Math.Exp(t - max);
        }
        return Math.Min(1, Math.Exp(max + Math.Log(sum)));
    }

    /// <summary>The two-sided Clopper–Pearson (exact binomial) confidence interval of a proportion.</summary>
    /// <param name="k">Right.</param>
    /// <param name="n">Trials.</param>
    /// <param name="confidence">Two-sided confidence, e.g. 0.95.</param>
    /// <returns>The lower and upper bound; (0, 1) when <paramref name="n"/> is 0.</returns>
    public static (double Lower, double Upper) ClopperPearson(int k, int n, double confidence)
    {
        var alpha = (1 - confidence) / 2;
        // P(X ≥ k | p) grows with p: the lower bound is where it reaches α/2, the upper where P(X ≤ k | p) falls to α/2.
        var lower = k == 0 ? 0 : Bisect(p => BinomialUpperTail(k, n, p) >= alpha);
        var upper = k >= n ? 1 : Bisect(p => 1 - BinomialUpperTail(k + 1, n, p) <= alpha);
        return (lower, upper);
    }

    // The smallest p in [0, 1] at which the monotone condition holds, to 1e-7.
    private static double Bisect(Func<double, bool> holds)
    {
        double lo = 0, hi = 1;
        while (hi - lo > 1e-7)
        {
            var mid = (lo + hi) / 2;
            if (holds(mid))
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }
        return hi;
    }

    /// <summary>The one-sided Wilson score lower bound of a proportion.</summary>
    /// <param name="k">Right.</param>
    /// <param name="n">Trials.</param>
    /// <param name="confidence">One-sided confidence, e.g. 0.95.</param>
    /// <returns>The lower bound.</returns>
    public static double WilsonLower(int k, int n, double confidence)
    {
        if (n == 0)
        {
            return 0;
        }
        var z = NormalQuantile(confidence);
        var phat = (double)k / n;
        var denominator = 1 + (z * z / n);
        var centre = phat + (z * z / (2.0 * n));
        var spread = z * Math.Sqrt((phat * (1 - phat) / n) + (z * z / (4.0 * n * n)));
        return (centre - spread) / denominator;
    }

    private static double LogChoose(int n, int k)
    {
        k = Math.Min(k, n - k);
        double sum = 0;
        for (var i = 1; i <= k; i++)
        {
            sum += Math.Log((double)(n - k + i) / i);
        }
        return sum;
    }

    // Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9).
    private static double NormalQuantile(double p)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        if (p < 0.02425)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return Horner(c, q) / ((Horner(d, q) * q) + 1);
        }
        if (p > 1 - 0.02425)
        {
            return -NormalQuantile(1 - p);
        }
        var r = p - 0.5;
        var s = r * r;
        return Horner(a, s) * r / ((Horner(b, s) * s) + 1);
    }

    private static double Horner(double[] coefficients, double x)
    {
        var y = 0.0;
        foreach (var k in coefficients)
        {
            y = (y * x) + k;
        }
        return y;
    }
}
