using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace SmartMail.Core.Classification;

/// <summary>Trains a text model: fits the featurizer, then an ML.NET multiclass linear model over its vectors.</summary>
public static class ModelTrainer
{
    /// <summary>Trains on <paramref name="examples"/>.</summary>
    /// <param name="examples">Labeled training text.</param>
    /// <param name="featurizerSettings">How text becomes features.</param>
    /// <param name="trainerSettings">The ML.NET trainer and its settings.</param>
    /// <param name="progress">Receives progress notes; may be <see langword="null"/>.</param>
    /// <returns>The trained model, ready to predict.</returns>
    /// <exception cref="ArgumentException">Fewer than two labels.</exception>
    public static TextModel Train(IReadOnlyList<LabeledText> examples, FeaturizerSettings featurizerSettings,
        TrainerSettings trainerSettings, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(featurizerSettings);
        ArgumentNullException.ThrowIfNull(trainerSettings);
        if (examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Count() < 2)
        {
            throw new ArgumentException("Training needs at least two labels.", nameof(examples));
        }

        progress?.Report("learning vocabulary");
        var featurizer = TextFeaturizer.Fit([.. examples.Select(e => e.Text)], featurizerSettings);
        return Train(examples, featurizer, trainerSettings, progress);
    }

    /// <summary>Trains on <paramref name="examples"/> with a featurizer already fitted.</summary>
    /// <param name="examples">Labeled training text.</param>
    /// <param name="featurizer">The fitted featurizer.</param>
    /// <param name="trainerSettings">The ML.NET trainer and its settings.</param>
    /// <param name="progress">Receives progress notes; may be <see langword="null"/>.</param>
    /// <returns>The trained model, ready to predict.</returns>
    /// <exception cref="ArgumentException">Fewer than two labels.</exception>
    public static TextModel Train(IReadOnlyList<LabeledText> examples, TextFeaturizer featurizer,
        TrainerSettings trainerSettings, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(trainerSettings);
        if (examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Count() < 2)
        {
            throw new ArgumentException("Training needs at least two labels.", nameof(examples));
        }

        progress?.Report($"featurizing {examples.Count} documents ({featurizer.Dimension} features)");
        // One pass: each document is featurized once, its naive Bayes sums added, and the maximum-entropy row kept
        // (without character n-grams when they feed naive Bayes only, so the rows held stay small on large data).
        // Two fixed interleaved halves side by side, their sums merged in order: the same model on any number of cores.
        // Labels in order of first occurrence: the order ML.NET's MapValueToKey gives the model's classes.
        var labels = examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).ToList();
        var labelIndex = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var wordsOnly = trainerSettings.CharNgramsNaiveBayesOnly && featurizer.Settings.CharNgramMin > 0;
        var isChar = new bool[featurizer.Dimension];
        for (var j = 0; j < isChar.Length && wordsOnly; j++)
        {
            isChar[j] = featurizer.IsCharNgram(j);
        }
        var rows = new FeatureRow[examples.Count];
        var counts = new ComplementNaiveBayes.Counts?[2];
        Parallel.For(0, counts.Length, h =>
        {
            var sums = trainerSettings.NaiveBayesWeight > 0 ? new ComplementNaiveBayes.Counts(labels.Count, featurizer.Dimension) : null;
            for (var i = h; i < examples.Count; i += counts.Length)
            {
                var x = featurizer.TransformScratch(examples[i].Text);
                sums?.Add(x.Indices, x.Values, labelIndex[examples[i].Label]);
                rows[i] = FeatureRow.From(wordsOnly ? Keep(x, isChar) : new SparseVector(featurizer.Dimension, x.Indices.ToArray(), x.Values.ToArray()), examples[i].Label);
            }
            counts[h] = sums;
        });

        var ml = new MLContext(trainerSettings.Seed);
        var maxentRows = rows;
        var data = FeatureRow.ToDataView(ml, maxentRows, featurizer.Dimension);
        var pipeline = ml.Transforms.Conversion.MapValueToKey(nameof(FeatureRow.Label), nameof(FeatureRow.Label))
            .Append(CreateTrainer(ml, trainerSettings));

        progress?.Report($"training {trainerSettings.Trainer} on {maxentRows.Sum(r => (long)r.Features.GetValues().Length)} non-zeros");
        var model = TextModel.Create(ml, pipeline.Fit(data), featurizer, data.Schema);
        model.FullEvidenceWords = trainerSettings.FullEvidenceWords;
        if (trainerSettings.NaiveBayesWeight > 0)
        {
            progress?.Report("fitting the naive Bayes ensemble member");
            if (!model.Labels.SequenceEqual(labels))
            {
                throw new InvalidOperationException("The ML.NET model's labels are not in the expected order.");
            }
            counts[0]!.Merge(counts[1]!);
            model.AttachNaiveBayes(counts[0]!.Fit(trainerSettings.NaiveBayesAlpha), trainerSettings.NaiveBayesWeight);
        }
        return model;
    }

    private static SparseVector Keep(FeatureScratch x, bool[] drop)
    {
        var kept = 0;
        foreach (var j in x.Indices)
        {
            kept += drop[j] ? 0 : 1;
        }
        var indices = new int[kept];
        var values = new float[kept];
        for (int k = 0, at = 0; k < x.Indices.Length; k++)
        {
            if (!drop[x.Indices[k]])
            {
                indices[at] = x.Indices[k];
                values[at++] = x.Values[k];
            }
        }
        return new SparseVector(drop.Length, indices, values);
    }

    private static SdcaMaximumEntropyMulticlassTrainer CreateTrainer(MLContext ml, TrainerSettings s) => s.Trainer switch
    {
        "sdca-maxent" => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
        {
            LabelColumnName = nameof(FeatureRow.Label),
            FeatureColumnName = nameof(FeatureRow.Features),
            L2Regularization = s.L2,
            L1Regularization = s.L1,
            MaximumNumberOfIterations = s.MaxIterations,
            ConvergenceTolerance = s.ConvergenceTolerance,
            ConvergenceCheckFrequency = s.ConvergenceCheckFrequency,
            NumberOfThreads = 1,
            Shuffle = true,
        }),
        _ => throw new ArgumentException($"Unknown trainer '{s.Trainer}'.", nameof(s)),
    };
}

/// <summary>A training example.</summary>
/// <param name="Label">The routing label.</param>
/// <param name="Text">The text.</param>
public sealed record LabeledText(string Label, TextInput Text);
