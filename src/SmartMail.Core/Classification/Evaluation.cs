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
    double AutomatedPrecision, double? TargetPrecision);

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
            targetPrecision);
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
    /// <paramref name="targetPrecision"/> on held-out data, supported by at least <see cref="MinThresholdSupport"/>
    /// routes. A label that never reaches it gets <see langword="null"/> (manual-only).
    /// </summary>
    /// <param name="scored">Held-out truth and predictions.</param>
    /// <param name="labels">The model's labels.</param>
    /// <param name="targetPrecision">The precision to reach, e.g. 0.95.</param>
    /// <returns>Threshold per label.</returns>
    public static Dictionary<string, float?> ChooseThresholds(IReadOnlyList<ScoredExample> scored, IReadOnlyList<string> labels,
        double targetPrecision)
    {
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(labels);
        var result = new Dictionary<string, float?>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            // Walk this label's predictions from most to least confident; the running precision at each
            // cut is the precision of routing everything at least that confident.
            var ranked = scored.Where(s => s.Predicted.Label == label)
                .OrderByDescending(s => s.Predicted.Confidence).ToList();
            float? best = null;
            var correct = 0;
            for (var i = 0; i < ranked.Count; i++)
            {
                if (ranked[i].Actual == label)
                {
                    correct++;
                }
                var isCut = i + 1 == ranked.Count || ranked[i + 1].Predicted.Confidence < ranked[i].Predicted.Confidence;
                if (isCut && i + 1 >= MinThresholdSupport && (double)correct / (i + 1) >= targetPrecision)
                {
                    best = ranked[i].Predicted.Confidence;
                }
            }
            result[label] = best;
        }
        return result;
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
