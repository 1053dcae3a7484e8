namespace SmartMail.Core.Classification;

/// <summary>The manifest stored as <c>manifest.json</c> in a model bundle.</summary>
public sealed record ModelManifest
{
    /// <summary>The bundle format this SmartMail reads and writes.</summary>
    public const string CurrentFormat = "smartmail-model/1";

    /// <summary>The bundle format.</summary>
    public string Format { get; init; } = CurrentFormat;

    /// <summary>A version name unique to this model (creation time and training data fingerprint).</summary>
    public required string ModelVersion { get; init; }

    /// <summary>The SmartMail version that trained it.</summary>
    public required string SmartMailVersion { get; init; }

    /// <summary>When it was trained (UTC).</summary>
    public required DateTimeOffset CreatedUtc { get; init; }

    /// <summary>The labels the model predicts, with counts and thresholds.</summary>
    public required IReadOnlyList<LabelInfo> Labels { get; init; }

    /// <summary>Labels seen in the data with too few examples to learn: always manual triage.</summary>
    public IReadOnlyList<ManualOnlyLabel> ManualOnlyLabels { get; init; } = [];

    /// <summary>How text became features.</summary>
    public required FeaturizerSettings Featurizer { get; init; }

    /// <summary>The trainer and its settings.</summary>
    public required TrainerSettings Trainer { get; init; }

    /// <summary>What it was trained on.</summary>
    public required TrainingDataInfo Training { get; init; }

    /// <summary>Metrics on the held-out split, at the chosen thresholds.</summary>
    public EvaluationSummary? HoldoutMetrics { get; init; }
}

/// <summary>A label the model predicts.</summary>
/// <param name="Name">The label.</param>
/// <param name="Count">Training examples.</param>
/// <param name="Threshold">Confidence needed to route automatically; <see langword="null"/> when the label never routes automatically.</param>
public sealed record LabelInfo(string Name, int Count, float? Threshold)
{
    /// <summary>In plain words, which threshold the label got and on what evidence (or why it is manual only); <see langword="null"/> in older manifests.</summary>
    public string? Note { get; init; }
}

/// <summary>A label with too few examples to learn.</summary>
/// <param name="Name">The label.</param>
/// <param name="Count">Examples found.</param>
/// <param name="Needed">How many more examples are needed before it is learned.</param>
public sealed record ManualOnlyLabel(string Name, int Count, int Needed);

/// <summary>Facts about the training data (no content, no machine paths).</summary>
public sealed record TrainingDataInfo
{
    /// <summary>The kind of source: <c>folders</c>, <c>csv</c> or <c>imap</c>.</summary>
    public required string SourceKind { get; init; }

    /// <summary>The source's own name (the folder or file name, not its path).</summary>
    public required string SourceName { get; init; }

    /// <summary>SHA-256 over the sorted (label, document fingerprint) pairs.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Documents used.</summary>
    public required int Documents { get; init; }

    /// <summary>Files skipped because they could not be read.</summary>
    public int Skipped { get; init; }

    /// <summary>Share held out to choose thresholds and measure.</summary>
    public double HoldoutFraction { get; init; }

    /// <summary>How the holdout was chosen: <c>newest-per-label</c> (dated mail), <c>random-per-label</c> or <c>none</c>.</summary>
    public string HoldoutSplit { get; init; } = "none";

    /// <summary>Precision the thresholds were chosen for.</summary>
    public double TargetPrecision { get; init; }

    /// <summary>How the thresholds were chosen on the held-out documents (<see cref="ThresholdOptions.Name"/>); absent in older manifests.</summary>
    public string? ThresholdRule { get; init; }

    /// <summary>Training wall time in seconds.</summary>
    public double TrainingSeconds { get; init; }

    /// <summary>How training chose the features (validation accuracy of each candidate), or <see langword="null"/> when they were set by hand.</summary>
    public string? CharNgramChoice { get; init; }

    /// <summary>The threshold all labels' pooled validation evidence supports (labels without their own use it), if any.</summary>
    public float? SharedThreshold { get; init; }
}
