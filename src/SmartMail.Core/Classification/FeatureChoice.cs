using System.Globalization;

namespace SmartMail.Core.Classification;

/// <summary>
/// Chooses the features per training set on its validation split, by the model that will be shipped: the ensemble
/// (linear SVMs and naive Bayes) is trained on the training part once per candidate (words and word pairs, character
/// 2-5-grams alone, both) and the candidate with the best validation accuracy wins. Words are the cheapest to train and
/// serve, so a character candidate must beat them by <see cref="MinGain"/>. Character candidates are tried only where
/// their training cost stays within <see cref="TrainerSettings.MaxEntCharNgramWork"/> (estimated from the text's
/// length), so training time stays bounded on large mailboxes.
/// </summary>
internal static class FeatureChoice
{
    /// <summary>Accuracy a character candidate must add over words to be used (it costs serving time and size).</summary>
    public const double MinGain = 0.002;

    /// <summary>Character n-grams per character of text, for the cost estimate (2-5-grams over words, distinct per document).</summary>
    public const int CharNgramsPerCharacter = 3;

    /// <summary>The candidates, cheapest first: words, characters alone, both.</summary>
    /// <param name="settings">The settings to vary (their character n-gram range is replaced).</param>
    /// <returns>The candidates.</returns>
    public static FeaturizerSettings[] Candidates(FeaturizerSettings settings)
    {
        var words = settings.WithoutCharNgrams() with { WordNgrams = Math.Max(1, settings.WordNgrams) };
        return [words, words with { WordNgrams = 0, CharNgramMin = 2, CharNgramMax = 5 }, words with { CharNgramMin = 2, CharNgramMax = 5 }];
    }

    /// <summary>The estimated training work of character n-grams: their non-zeros times the labels.</summary>
    public static double CharWork(IReadOnlyList<TrainingDocument> documents, int labels, int maxTextLength) =>
        (double)CharNgramsPerCharacter * labels * documents.Sum(d => (long)d.Text.Subject.Length + Math.Min(d.Text.Body.Length, maxTextLength));

    /// <summary>Trains each affordable candidate on <paramref name="train"/> and keeps the best on <paramref name="validation"/>.</summary>
    /// <param name="train">The training part.</param>
    /// <param name="validation">The validation part.</param>
    /// <param name="all">Every training document (for the cost estimate of the final model).</param>
    /// <param name="settings">The featurizer settings to vary.</param>
    /// <param name="trainer">The trainer settings.</param>
    /// <param name="progress">Receives progress notes.</param>
    /// <returns>The winner, its model trained on <paramref name="train"/>, and a line saying what was measured.</returns>
    public static Outcome Choose(IReadOnlyList<TrainingDocument> train, IReadOnlyList<TrainingDocument> validation,
        IReadOnlyList<TrainingDocument> all, FeaturizerSettings settings, TrainerSettings trainer, IProgress<string>? progress)
    {
        var labels = all.Select(d => d.Label).Distinct(StringComparer.Ordinal).Count();
        var work = CharWork(all, labels, settings.MaxTextLength);
        var candidates = Candidates(settings);
        var affordable = work <= trainer.MaxEntCharNgramWork ? candidates : candidates[..1];
        var examples = train.Select(d => new LabeledText(d.Label, d.Text)).ToArray();
        var results = new List<(FeaturizerSettings Settings, TextModel Model, double Accuracy)>();
        foreach (var candidate in affordable)
        {
            if (affordable.Length == 1)
            {
                results.Add((candidate, ModelTrainer.Train(examples, candidate, trainer, progress), double.NaN));
                break;
            }
            progress?.Report($"feature choice: training on {candidate.FeatureName}");
            var model = ModelTrainer.Train(examples, candidate, trainer);
            var scored = ModelTraining.Score(model, validation);
            results.Add((candidate, model, (double)scored.Count(s => s.Actual == s.Predicted.Label) / Math.Max(1, scored.Length)));
        }
        var best = 0;
        for (var i = 1; i < results.Count; i++)
        {
            if (results[i].Accuracy - MinGain > results[best].Accuracy - (best == 0 ? 0 : MinGain))
            {
                best = i;
            }
        }
        foreach (var (_, model, _) in results.Where((_, i) => i != best))
        {
            model.Dispose();
        }
        var description = results.Count == 1
            ? string.Create(CultureInfo.InvariantCulture,
                $"{results[0].Settings.FeatureName}: character n-grams not tried (their estimated work, {work:G3} non-zeros x labels, is above the budget of {trainer.MaxEntCharNgramWork:G3})")
            : "validation accuracy of the trained model: " + string.Join(", ", results.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Settings.FeatureName} {r.Accuracy:F3}")))
                + $": {results[best].Settings.FeatureName}";
        progress?.Report(description);
        return new Outcome(results[best].Settings, results[best].Model, description);
    }

    /// <summary>The chosen features.</summary>
    /// <param name="Settings">The winning settings.</param>
    /// <param name="Model">The winner trained on the training part (not yet given a score scale).</param>
    /// <param name="Description">What was measured and chosen, for the manifest.</param>
    internal sealed record Outcome(FeaturizerSettings Settings, TextModel Model, string Description);
}
