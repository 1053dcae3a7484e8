using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace SmartMail.Core.Classification;

/// <summary>
/// Trains a text model: fits the featurizer, then an ML.NET linear member over its vectors (one linear SVM per label,
/// or one multinomial logistic regression) and the naive Bayes member.
/// </summary>
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
        ArgumentNullException.ThrowIfNull(featurizerSettings);
        ArgumentNullException.ThrowIfNull(trainerSettings);
        RequireTwoLabels(examples);

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
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(trainerSettings);
        RequireTwoLabels(examples);

        progress?.Report($"featurizing {examples.Count} documents ({featurizer.Dimension} features)");
        // One pass: each document is featurized once, its naive Bayes sums added, and the linear member's row kept
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

        var nonZeros = rows.Sum(r => (long)r.Features.GetValues().Length);
        TextModel model;
        if (trainerSettings.Trainer == TrainerSettings.OneVersusRestSvm)
        {
            progress?.Report($"training {labels.Count} linear SVMs (ML.NET LinearSvm, one per label against the rest) on {nonZeros} non-zeros");
            var (weights, biases) = TrainOneVersusRest(rows, [.. examples.Select(e => labelIndex[e.Label])], labels.Count, featurizer.Dimension, trainerSettings);
            model = TextModel.CreateLinear(featurizer, labels, weights, biases);
        }
        else
        {
            var ml = new MLContext(trainerSettings.Seed);
            var data = FeatureRow.ToDataView(ml, rows, featurizer.Dimension);
            var pipeline = ml.Transforms.Conversion.MapValueToKey(nameof(FeatureRow.Label), nameof(FeatureRow.Label))
                .Append(CreateTrainer(ml, trainerSettings));
            progress?.Report($"training {trainerSettings.Trainer} on {nonZeros} non-zeros");
            model = TextModel.Create(ml, pipeline.Fit(data), featurizer, data.Schema);
        }
        model.ScoreScale = trainerSettings.ScoreScale;
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

    /// <summary>
    /// One ML.NET <c>LinearSvm</c> (Pegasos) per label, that label against the rest, side by side. Each has its own
    /// <see cref="MLContext"/> seeded with the settings' seed and reads the rows in one fixed order shuffled with that
    /// seed (Pegasos needs the labels mixed: ML.NET shuffles only data it has cached, and a cache would copy every row
    /// once per label), so the weights do not depend on the number of cores or on scheduling.
    /// </summary>
    /// <returns>Each label's weights (dense) and bias, in <paramref name="classes"/> order.</returns>
    internal static (float[][] Weights, float[] Biases) TrainOneVersusRest(FeatureRow[] rows, int[] label, int classes, int dimension, TrainerSettings settings)
    {
        var order = ShuffledOrder(rows.Length, settings.Seed);
        var weights = new float[classes][];
        var biases = new float[classes];
        Parallel.For(0, classes, c =>
        {
            var svm = TrainBinary(new MLContext(settings.Seed), rows, order, label, c, dimension, settings).Model;
            weights[c] = [.. svm.Weights];
            biases[c] = svm.Bias;
        });
        return (weights, biases);
    }

    private static void RequireTwoLabels(IReadOnlyList<LabeledText> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Count() < 2)
        {
            throw new ArgumentException("Training needs at least two labels.", nameof(examples));
        }
    }

    /// <summary>0 … <paramref name="count"/> − 1 shuffled with <paramref name="seed"/>: the order every label's SVM reads the rows in.</summary>
    internal static int[] ShuffledOrder(int count, int seed)
    {
        var order = new int[count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        new Random(seed).Shuffle(order);
        return order;
    }

    /// <summary>One label's SVM: rows in <paramref name="order"/>, positive where <paramref name="label"/> is <paramref name="positive"/>.</summary>
    internal static BinaryPredictionTransformer<LinearBinaryModelParameters> TrainBinary(MLContext ml, FeatureRow[] rows, int[] order, int[] label,
        int positive, int dimension, TrainerSettings settings)
    {
        var data = ml.Data.LoadFromEnumerable(order.Select(i => new BinaryRow { Label = label[i] == positive, Features = rows[i].Features }),
            BinaryRow.Schema(dimension));
        return ml.BinaryClassification.Trainers.LinearSvm(new LinearSvmTrainer.Options
        {
            LabelColumnName = nameof(BinaryRow.Label),
            FeatureColumnName = nameof(BinaryRow.Features),
            Lambda = settings.SvmLambda,
            NumberOfIterations = settings.SvmPasses(rows.Length),
            Shuffle = false,
        }).Fit(data);
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
        TrainerSettings.SdcaMaximumEntropy => ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
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
