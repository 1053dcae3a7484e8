using System.Globalization;
using System.Text;
using System.Text.Json;
using SmartMail.Core.Classification;

namespace SmartMail.Worker.Learning;

/// <summary>How a retrain is run and judged.</summary>
public sealed record RetrainOptions
{
    /// <summary>The precision automatic routes must keep (thresholds and the promotion metric).</summary>
    public double TargetPrecision { get; init; } = 0.95;

    /// <summary>The fewest new labeled mails the two models are compared on; fewer and nothing is trained.</summary>
    public int MinComparisonExamples { get; init; } = 20;

    /// <summary>Each label's newest share of the stored examples that is held out for the comparison.</summary>
    public double ComparisonFraction { get; init; } = 0.2;

    /// <summary>How long an automatic route must stand uncorrected to count as confirmed.</summary>
    public TimeSpan ConfirmAfter { get; init; } = TimeSpan.FromDays(2);

    /// <summary>Differences in automation rate up to this much count as a tie, decided by macro-F1.</summary>
    public double Tolerance { get; init; } = 0.005;

    /// <summary>The fewest examples a label needs to be learned (fewer: manual-only, reported).</summary>
    public int MinExamplesPerLabel { get; init; } = 10;

    /// <summary>The seed for splits and training.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Trains the candidate on shuffled labels: a check that the promotion gate refuses a useless model.</summary>
    public bool ShuffleLabels { get; init; }

    /// <summary>Whether a candidate may promote without labels the current model routes.</summary>
    public bool AllowDroppingLabels { get; init; }

    /// <summary>Compares and reports, but never promotes.</summary>
    public bool DryRun { get; init; }

    /// <summary>Told the candidate's version and the stored examples it learned from (the privacy index records them).</summary>
    public Action<string, IReadOnlyList<StoredExample>>? TrainedOn { get; init; }
}

/// <summary>
/// The retrain step of the learning loop: train a candidate from history plus stored examples (corrections and confirmed
/// routes), compare it with the model in force on the same held-out new mail, and promote it only when it is not worse
/// on the agreed metric — the automation rate at the target precision, macro-F1 breaking a tie. The held-out mail is
/// each label's newest share of the stored examples: mail that arrived after the current model was trained, which
/// neither model learned from. Every run writes a comparison report (JSON and Markdown) into the registry.
/// </summary>
public static class Retrainer
{
    private static readonly JsonSerializerOptions Json = new(ModelBundle.JsonOptions) { WriteIndented = true };

    /// <summary>Runs one retrain.</summary>
    /// <param name="examples">The stored examples and corrections.</param>
    /// <param name="history">Labeled history to train on besides the examples (folders, CSV or IMAP), if any.</param>
    /// <param name="registry">The model registry (the model in force, where the candidate and report go).</param>
    /// <param name="options">Options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="progress">Receives a line per stage.</param>
    /// <returns>The report (also written to the registry).</returns>
    public static RetrainReport Run(ExampleStore examples, TrainingSet? history, ModelRegistry registry, RetrainOptions options,
        TimeProvider time, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var stored = examples.ReadLabeled(now - options.ConfirmAfter);
        var (train, comparison) = SplitNewest([.. stored.Select(s => s.Document)], options.ComparisonFraction);
        var comparisonPrints = comparison.Select(d => d.Fingerprint).ToHashSet(StringComparer.Ordinal);
        var historyDocs = history?.Documents.Where(d => !comparisonPrints.Contains(d.Fingerprint)).ToList() ?? [];
        var data = new RetrainData(historyDocs.Count, history?.SourceName, stored.Count,
            stored.Count(s => s.Origin == ExampleOrigin.Correction), stored.Count(s => s.Origin == ExampleOrigin.Routed), comparison.Count,
            comparison.GroupBy(d => d.Label, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
        progress?.Report($"{stored.Count} stored examples ({data.Corrections} corrections, {data.ConfirmedRoutes} confirmed routes), " +
            $"{historyDocs.Count} history documents; {comparison.Count} new mails held out for the comparison");

        using var current = ModelBundle.Load(registry.ActivePath);
        var report = new RetrainReport
        {
            TimeUtc = now,
            TargetPrecision = options.TargetPrecision,
            CurrentVersion = current.Manifest.ModelVersion,
            Data = data,
            ShuffledLabels = options.ShuffleLabels,
            Decision = RetrainDecision.NotTrained,
            Reason = string.Empty,
        };
        if (comparison.Count < options.MinComparisonExamples)
        {
            return Write(registry, report with
            {
                Reason = $"only {comparison.Count} new labeled mails to compare the models on; at least {options.MinComparisonExamples} are needed " +
                    $"(about {(int)Math.Ceiling(options.MinComparisonExamples / Math.Max(options.ComparisonFraction, 0.01))} stored examples). " +
                    "Routes count once they have stood uncorrected for the confirmation period; corrections count at once.",
            }, null);
        }

        var trainingDocs = historyDocs.Concat(train).ToList();
        if (options.ShuffleLabels)
        {
            trainingDocs = Shuffled(trainingDocs, options.Seed);
        }
        progress?.Report($"training the candidate on {trainingDocs.Count} documents");
        var trained = ModelTraining.Train(TrainingSet.FromDocuments("retrain", $"{history?.SourceName ?? "no history"} + stored examples", trainingDocs),
            new TrainingOptions { TargetPrecision = options.TargetPrecision, Seed = options.Seed, MinExamplesPerLabel = options.MinExamplesPerLabel },
            progress, time);
        using var candidate = trained.Bundle;
        var learned = train.ToHashSet(ReferenceEqualityComparer.Instance);
        options.TrainedOn?.Invoke(candidate.Manifest.ModelVersion, [.. stored.Where(s => learned.Contains(s.Document))]);

        progress?.Report("scoring both models on the held-out new mail");
        var currentScore = Score(current, comparison, options.TargetPrecision);
        var candidateScore = Score(candidate, comparison, options.TargetPrecision);
        var candidateLabels = candidate.Model.Labels.ToHashSet(StringComparer.Ordinal);
        var dropped = current.Manifest.Labels.Where(l => l.Threshold is not null && !candidateLabels.Contains(l.Name)).Select(l => l.Name).ToList();
        var (promote, reason) = Judge(currentScore, candidateScore, dropped, options);
        report = report with
        {
            CandidateVersion = candidate.Manifest.ModelVersion,
            Current = currentScore,
            Candidate = candidateScore,
            DroppedLabels = dropped,
            ManualOnlyLabels = candidate.Manifest.ManualOnlyLabels,
            Decision = promote && !options.DryRun ? RetrainDecision.Promoted : RetrainDecision.Kept,
            Reason = options.DryRun ? $"dry run: {(promote ? "would promote" : "would keep the current model")} — {reason}" : reason,
        };
        return Write(registry, report, candidate);
    }

    /// <summary>The promotion rule, on scores from the same held-out mail.</summary>
    /// <param name="current">The model in force.</param>
    /// <param name="candidate">The candidate.</param>
    /// <param name="dropped">Labels the current model routes and the candidate does not know.</param>
    /// <param name="options">Options.</param>
    /// <returns>Whether to promote, and why in one sentence.</returns>
    public static (bool Promote, string Reason) Judge(ModelScore current, ModelScore candidate, IReadOnlyList<string> dropped, RetrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(dropped);
        ArgumentNullException.ThrowIfNull(options);
        var target = options.TargetPrecision.ToString("0.###", CultureInfo.InvariantCulture);
        var rates = string.Create(CultureInfo.InvariantCulture,
            $"at precision ≥ {target} the candidate routes {candidate.AutomationAtTarget:P1} of the held-out mail automatically, the current model {current.AutomationAtTarget:P1}");
        if (dropped.Count > 0 && !options.AllowDroppingLabels)
        {
            return (false, $"the candidate does not know {dropped.Count} labels the current model routes ({string.Join(", ", dropped.Take(5))}" +
                $"{(dropped.Count > 5 ? ", ..." : "")}); give the history they were learned from (--data/--csv/--imap), or allow dropping them");
        }
        var delta = candidate.AutomationAtTarget - current.AutomationAtTarget;
        if (delta > options.Tolerance)
        {
            return (true, $"better: {rates}");
        }
        if (delta < -options.Tolerance)
        {
            return (false, $"worse: {rates}");
        }
        var f1 = string.Create(CultureInfo.InvariantCulture, $"macro-F1 {candidate.MacroF1:F3} against {current.MacroF1:F3}");
        return candidate.MacroF1 >= current.MacroF1
            ? (true, $"tie on automation ({rates}), not worse on the tie-break: {f1}")
            : (false, $"tie on automation ({rates}), worse on the tie-break: {f1}");
    }

    /// <summary>Scores a model on labeled documents for the comparison.</summary>
    /// <param name="bundle">The model.</param>
    /// <param name="documents">The held-out documents.</param>
    /// <param name="targetPrecision">The precision for the automation rate.</param>
    /// <returns>The score.</returns>
    public static ModelScore Score(ModelBundle bundle, IReadOnlyList<TrainingDocument> documents, double targetPrecision)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var scored = ModelTraining.Score(bundle.Model, documents);
        var evaluation = Evaluator.Evaluate(scored, bundle.Model.Labels, bundle.Thresholds, targetPrecision);
        var (coverage, precision) = Evaluator.AutomationAtPrecision(scored, targetPrecision);
        var truth = documents.Select(d => d.Label).ToHashSet(StringComparer.Ordinal);
        return new ModelScore(bundle.Manifest.ModelVersion, bundle.Model.Labels.Count, coverage, precision, evaluation.Summary.MacroF1,
            evaluation.Summary.Accuracy, evaluation.Summary.AutomationRate, evaluation.Summary.AutomatedPrecision,
            [.. evaluation.PerLabel.Where(l => truth.Contains(l.Label))]);
    }

    // Per label, the newest share is held out (at least one, and at least one left to learn from); labels with a single
    // example are only learned from.
    internal static (List<TrainingDocument> Train, List<TrainingDocument> Held) SplitNewest(List<TrainingDocument> documents, double fraction)
    {
        var train = new List<TrainingDocument>();
        var held = new List<TrainingDocument>();
        foreach (var group in documents.GroupBy(d => d.Label, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var items = group.OrderByDescending(d => d.Date ?? DateTimeOffset.MinValue).ThenBy(d => d.Fingerprint, StringComparer.Ordinal).ToList();
            var n = items.Count < 2 || fraction <= 0 ? 0 : Math.Clamp((int)Math.Round(items.Count * fraction), 1, items.Count - 1);
            held.AddRange(items.Take(n));
            train.AddRange(items.Skip(n));
        }
        return (train, held);
    }

    private static List<TrainingDocument> Shuffled(List<TrainingDocument> documents, int seed)
    {
        var labels = documents.Select(d => d.Label).ToArray();
        new Random(seed).Shuffle(labels);
        return [.. documents.Select((d, i) => d with { Label = labels[i] })];
    }

    private static RetrainReport Write(ModelRegistry registry, RetrainReport report, ModelBundle? candidate)
    {
        Directory.CreateDirectory(registry.ReportsDirectory);
        var name = $"{report.TimeUtc:yyyyMMdd-HHmmss}-{report.CandidateVersion ?? "no-candidate"}";
        var relative = Path.Combine("reports", name + ".md");
        report = report with { ReportFile = Path.Combine(registry.Directory, relative) };
        File.WriteAllText(Path.Combine(registry.ReportsDirectory, name + ".json"), JsonSerializer.Serialize(report, Json));
        File.WriteAllText(report.ReportFile, Markdown(report));
        if (candidate is not null)
        {
            registry.Add(candidate, report.Decision == RetrainDecision.Promoted ? "candidate" : "rejected", relative);
            if (report.Decision == RetrainDecision.Promoted)
            {
                registry.Promote(candidate.Manifest.ModelVersion, report.Reason);
            }
        }
        return report;
    }

    /// <summary>The report as Markdown, for the people who approve models.</summary>
    /// <param name="r">The report.</param>
    /// <returns>The text.</returns>
    public static string Markdown(RetrainReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        sb.AppendLine(c, $"# Retrain {r.TimeUtc:yyyy-MM-dd HH:mm} UTC: {r.Decision}").AppendLine();
        sb.AppendLine(c, $"**{r.Reason}**").AppendLine();
        sb.AppendLine(c, $"- Model in force: `{r.CurrentVersion}`; candidate: `{r.CandidateVersion ?? "none"}`{(r.ShuffledLabels ? " (trained on SHUFFLED labels: a check of the gate)" : "")}");
        sb.AppendLine(c, $"- Data: {r.Data.HistoryDocuments} history documents ({r.Data.HistorySource ?? "none"}), {r.Data.StoredExamples} stored examples " +
            $"({r.Data.Corrections} corrections, {r.Data.ConfirmedRoutes} confirmed routes); {r.Data.ComparisonDocuments} newest held out for the comparison.");
        sb.AppendLine(c, $"- Rule: promote when the candidate's automation rate at precision ≥ {r.TargetPrecision:0.###} on the held-out mail is not lower; within 0.5 points, macro-F1 decides.");
        if (r.Current is { } cur && r.Candidate is { } cand)
        {
            sb.AppendLine().AppendLine("| on the held-out new mail | current | candidate |").AppendLine("|---|---:|---:|");
            sb.AppendLine(c, $"| automation rate at precision ≥ {r.TargetPrecision:0.###} (one confidence cut) | {cur.AutomationAtTarget:P1} | {cand.AutomationAtTarget:P1} |");
            sb.AppendLine(c, $"| precision at that cut | {cur.PrecisionAtCut:F3} | {cand.PrecisionAtCut:F3} |");
            sb.AppendLine(c, $"| macro-F1 | {cur.MacroF1:F3} | {cand.MacroF1:F3} |");
            sb.AppendLine(c, $"| accuracy | {cur.Accuracy:F3} | {cand.Accuracy:F3} |");
            sb.AppendLine(c, $"| automation with its own thresholds | {cur.AutomationWithThresholds:P1} | {cand.AutomationWithThresholds:P1} |");
            sb.AppendLine(c, $"| precision of those routes | {cur.PrecisionWithThresholds:F3} | {cand.PrecisionWithThresholds:F3} |");
            sb.AppendLine(c, $"| labels known | {cur.Labels} | {cand.Labels} |");
            sb.AppendLine().AppendLine("| label | held out | recall now | recall candidate |").AppendLine("|---|---:|---:|---:|");
            foreach (var (label, count) in r.Data.ComparisonByLabel)
            {
                sb.AppendLine(c, $"| {label} | {count} | {Recall(cur, label):F2} | {Recall(cand, label):F2} |");
            }
        }
        if (r.DroppedLabels.Count > 0)
        {
            sb.AppendLine().AppendLine(c, $"Labels the candidate does not know: {string.Join(", ", r.DroppedLabels)}.");
        }
        foreach (var m in r.ManualOnlyLabels)
        {
            sb.AppendLine().AppendLine(c, $"- '{m.Name}' stays manual-only: {m.Count} examples, {m.Needed} more needed.");
        }
        return sb.ToString();
    }

    private static double Recall(ModelScore score, string label) => score.PerLabel.FirstOrDefault(l => l.Label == label)?.Recall ?? 0;
}

/// <summary>What a retrain decided.</summary>
public static class RetrainDecision
{
    /// <summary>The candidate is now the model in force.</summary>
    public const string Promoted = "promoted";

    /// <summary>The candidate was worse (or a dry run): the model in force is kept.</summary>
    public const string Kept = "kept";

    /// <summary>Not enough new labeled mail to compare on: nothing was trained.</summary>
    public const string NotTrained = "not-trained";
}

/// <summary>The comparison report of one retrain.</summary>
public sealed record RetrainReport
{
    /// <summary>When.</summary>
    public required DateTimeOffset TimeUtc { get; init; }

    /// <summary>A <see cref="RetrainDecision"/> value.</summary>
    public required string Decision { get; init; }

    /// <summary>Why, in one sentence.</summary>
    public required string Reason { get; init; }

    /// <summary>The model in force when the retrain started.</summary>
    public required string CurrentVersion { get; init; }

    /// <summary>The candidate, when one was trained.</summary>
    public string? CandidateVersion { get; init; }

    /// <summary>The target precision.</summary>
    public required double TargetPrecision { get; init; }

    /// <summary>What was trained and compared on.</summary>
    public required RetrainData Data { get; init; }

    /// <summary>The model in force on the held-out mail.</summary>
    public ModelScore? Current { get; init; }

    /// <summary>The candidate on the held-out mail.</summary>
    public ModelScore? Candidate { get; init; }

    /// <summary>Labels the current model routes that the candidate does not know.</summary>
    public IReadOnlyList<string> DroppedLabels { get; init; } = [];

    /// <summary>Labels with too few examples to learn, and how many more each needs.</summary>
    public IReadOnlyList<ManualOnlyLabel> ManualOnlyLabels { get; init; } = [];

    /// <summary>Whether the candidate was trained on shuffled labels (a check of the gate).</summary>
    public bool ShuffledLabels { get; init; }

    /// <summary>The Markdown report.</summary>
    public string? ReportFile { get; init; }
}

/// <summary>The data of a retrain.</summary>
/// <param name="HistoryDocuments">History documents trained on.</param>
/// <param name="HistorySource">Where the history came from.</param>
/// <param name="StoredExamples">Labeled examples from the state store.</param>
/// <param name="Corrections">Of those, corrections.</param>
/// <param name="ConfirmedRoutes">Of those, confirmed automatic routes.</param>
/// <param name="ComparisonDocuments">Held out for the comparison.</param>
/// <param name="ComparisonByLabel">Held out per label.</param>
public sealed record RetrainData(int HistoryDocuments, string? HistorySource, int StoredExamples, int Corrections, int ConfirmedRoutes,
    int ComparisonDocuments, IReadOnlyDictionary<string, int> ComparisonByLabel);

/// <summary>One model's numbers on the held-out mail.</summary>
/// <param name="Version">The model.</param>
/// <param name="Labels">Labels it knows.</param>
/// <param name="AutomationAtTarget">Share routable with one confidence cut at the target precision (the promotion metric).</param>
/// <param name="PrecisionAtCut">Precision at that cut.</param>
/// <param name="MacroF1">Macro-F1 (the tie-break).</param>
/// <param name="Accuracy">Top-label accuracy.</param>
/// <param name="AutomationWithThresholds">Share routed with the model's own per-label thresholds.</param>
/// <param name="PrecisionWithThresholds">Precision of those routes.</param>
/// <param name="PerLabel">Per-label metrics for the held-out labels.</param>
public sealed record ModelScore(string Version, int Labels, double AutomationAtTarget, double PrecisionAtCut, double MacroF1, double Accuracy,
    double AutomationWithThresholds, double PrecisionWithThresholds, IReadOnlyList<LabelMetrics> PerLabel);
