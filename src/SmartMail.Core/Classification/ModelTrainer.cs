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
        var rows = new FeatureRow[examples.Count];
        Parallel.For(0, examples.Count, i => rows[i] = FeatureRow.From(featurizer.Transform(examples[i].Text), examples[i].Label));

        var ml = new MLContext(trainerSettings.Seed);
        var maxentRows = rows;
        if (trainerSettings.CharNgramsNaiveBayesOnly && featurizer.Settings.CharNgramMin > 0)
        {
            var isWord = new bool[featurizer.Dimension];
            for (var j = 0; j < isWord.Length; j++)
            {
                isWord[j] = !featurizer.IsCharNgram(j);
            }
            maxentRows = [.. rows.Select(r => WordsOnly(r, isWord))];
        }
        var data = FeatureRow.ToDataView(ml, maxentRows, featurizer.Dimension);
        var pipeline = ml.Transforms.Conversion.MapValueToKey(nameof(FeatureRow.Label), nameof(FeatureRow.Label))
            .Append(CreateTrainer(ml, trainerSettings));

        progress?.Report($"training {trainerSettings.Trainer} on {maxentRows.Sum(r => (long)r.Features.GetValues().Length)} non-zeros");
        var model = TextModel.Create(ml, pipeline.Fit(data), featurizer, data.Schema);
        model.FullEvidenceWords = trainerSettings.FullEvidenceWords;
        if (trainerSettings.NaiveBayesWeight > 0)
        {
            progress?.Report("fitting the naive Bayes ensemble member");
            var order = model.Labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
            var counts = new ComplementNaiveBayes.Counts(model.Labels.Count, featurizer.Dimension);
            for (var r = 0; r < rows.Length; r++)
            {
                counts.Add(rows[r].Features.GetIndices(), rows[r].Features.GetValues(), order[examples[r].Label]);
            }
            model.AttachNaiveBayes(counts.Fit(trainerSettings.NaiveBayesAlpha), trainerSettings.NaiveBayesWeight);
        }
        return model;
    }

    private static FeatureRow WordsOnly(FeatureRow row, bool[] isWord)
    {
        var indices = row.Features.GetIndices();
        var values = row.Features.GetValues();
        var keptIndices = new List<int>(indices.Length);
        var keptValues = new List<float>(indices.Length);
        for (var k = 0; k < indices.Length; k++)
        {
            if (isWord[indices[k]])
            {
                keptIndices.Add(indices[k]);
                keptValues.Add(values[k]);
            }
        }
        return FeatureRow.From(new SparseVector(row.Features.Length, [.. keptIndices], [.. keptValues]), row.Label);
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
