namespace SmartMail.Core.Classification;

/// <summary>
/// Decides per training set whether character n-grams are used, on a validation split of the training data (each
/// label's last or newest share, the split thresholds are chosen on), not by the data's size: a naive Bayes member is
/// fitted on the rest once with words and character n-grams, and validation accuracy is compared over all features
/// against the words and word pairs alone. One pass over the text and no extra ML.NET training, because the word
/// vocabulary does not depend on the character n-grams (separate budgets).
/// </summary>
internal static class SubwordChoice
{
    /// <summary>Accuracy the character n-grams must add on the validation split to be used (they cost serving time and size).</summary>
    public const double MinGain = 0.002;

    /// <summary>Most training documents the choice is fitted on (an evenly spaced sample beyond it).</summary>
    public const int MaxTrainingDocuments = 10_000;

    /// <summary>Most validation documents the choice is measured on (an evenly spaced sample beyond it).</summary>
    public const int MaxValidationDocuments = 2_500;

    /// <summary>At most <paramref name="max"/> documents, evenly spaced in input order (all of them when there are fewer).</summary>
    public static IReadOnlyList<TrainingDocument> Sample(IReadOnlyList<TrainingDocument> documents, int max) =>
        documents.Count <= max ? documents : [.. Enumerable.Range(0, max).Select(i => documents[(int)((long)i * documents.Count / max)])];

    /// <summary>Measures both feature sets.</summary>
    /// <param name="withChars">A featurizer fitted with character n-grams on <paramref name="train"/>.</param>
    /// <param name="train">The documents to fit on.</param>
    /// <param name="validation">The documents to compare on.</param>
    /// <param name="alpha">Naive Bayes smoothing.</param>
    /// <returns>Both accuracies and the non-zeros of the training rows per kind.</returns>
    public static Outcome Measure(TextFeaturizer withChars, IReadOnlyList<TrainingDocument> train, IReadOnlyList<TrainingDocument> validation, double alpha)
    {
        var labels = train.Select(d => d.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var order = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        var dimension = withChars.Dimension;
        var isChar = new bool[dimension];
        for (var j = 0; j < dimension; j++)
        {
            isChar[j] = withChars.IsCharNgram(j);
        }

        // Two fixed halves counted side by side and merged in order: the same sums on any number of cores.
        var halves = new (ComplementNaiveBayes.Counts Counts, long Words, long Chars)[2];
        Parallel.For(0, halves.Length, h =>
        {
            var counts = new ComplementNaiveBayes.Counts(labels.Count, dimension);
            long words = 0, chars = 0;
            for (var d = h; d < train.Count; d += halves.Length)
            {
                var x = withChars.TransformScratch(train[d].Text);
                counts.Add(x.Indices, x.Values, order[train[d].Label]);
                foreach (var j in x.Indices)
                {
                    if (isChar[j])
                    {
                        chars++;
                    }
                    else
                    {
                        words++;
                    }
                }
            }
            halves[h] = (counts, words, chars);
        });
        halves[0].Counts.Merge(halves[1].Counts);
        var all = halves[0].Counts.Weights(alpha);
        var wordsOnly = halves[0].Counts.Weights(alpha, j => !isChar[j]);

        // Validation documents are scored side by side; counting right answers does not depend on the order.
        var wordsRight = 0;
        var charsRight = 0;
        Parallel.For(0, validation.Count, () => (Words: 0, Chars: 0), (v, _, right) =>
        {
            if (!order.TryGetValue(validation[v].Label, out var truth))
            {
                return right;
            }
            var x = withChars.TransformScratch(validation[v].Text);
            var bestAll = (Score: double.NegativeInfinity, Label: -1);
            var bestWords = (Score: double.NegativeInfinity, Label: -1);
            for (var c = 0; c < labels.Count; c++)
            {
                double sAll = 0, sWords = 0;
                for (var k = 0; k < x.Indices.Length; k++)
                {
                    var j = x.Indices[k];
                    sAll += all[c][j] * x.Values[k];
                    sWords += wordsOnly[c][j] * x.Values[k];
                }
                bestAll = sAll > bestAll.Score ? (sAll, c) : bestAll;
                bestWords = sWords > bestWords.Score ? (sWords, c) : bestWords;
            }
            return (right.Words + (bestWords.Label == truth ? 1 : 0), right.Chars + (bestAll.Label == truth ? 1 : 0));
        }, right =>
        {
            Interlocked.Add(ref wordsRight, right.Words);
            Interlocked.Add(ref charsRight, right.Chars);
        });
        var n = Math.Max(1, validation.Count);
        return new Outcome((double)wordsRight / n, (double)charsRight / n, halves[0].Words + halves[1].Words, halves[0].Chars + halves[1].Chars, labels.Count);
    }

    /// <summary>What the validation showed.</summary>
    /// <param name="WordsAccuracy">Validation accuracy with words and word pairs.</param>
    /// <param name="CharsAccuracy">Validation accuracy with character n-grams added.</param>
    /// <param name="WordNonZeros">Non-zeros of the word features over the fitted documents.</param>
    /// <param name="CharNonZeros">Non-zeros of the character n-gram features over the fitted documents.</param>
    /// <param name="Classes">Labels.</param>
    internal sealed record Outcome(double WordsAccuracy, double CharsAccuracy, long WordNonZeros, long CharNonZeros, int Classes)
    {
        /// <summary>Whether the character n-grams earn their place.</summary>
        public bool UseCharNgrams => CharsAccuracy >= WordsAccuracy + MinGain;
    }
}
