using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

/// <summary>
/// Character n-grams: a vocabulary budget of their own, and the features (words, characters alone, both) chosen on the
/// validation split of the training data by the model that ships, not by its size or a proxy.
/// </summary>
public sealed class SubwordFeatureTests
{
    private static readonly string[] Stems = ["ejendom", "bygning", "skolebarn", "affaldet"];

    [Fact]
    public void Fit_CharNgrams_HaveTheirOwnBudget_WordsKeepTheirs()
    {
        var texts = SyntheticCorpus.Make(30, seed: 5).Select(d => d.Text).ToList();
        var words = TextFeaturizer.Fit(texts, new FeaturizerSettings { MaxFeatures = 40 });
        var both = TextFeaturizer.Fit(texts, new FeaturizerSettings { MaxFeatures = 40, CharNgramMin = 2, CharNgramMax = 5, MaxCharFeatures = 25 });

        var bothWords = Enumerable.Range(0, both.Dimension).Where(i => !both.IsCharNgram(i)).Select(both.Term).ToList();
        var wordTerms = Enumerable.Range(0, words.Dimension).Select(words.Term).ToList();
        Assert.Equal(40, words.Dimension);
        Assert.Equal(wordTerms, bothWords);
        Assert.Equal(25, Enumerable.Range(0, both.Dimension).Count(both.IsCharNgram));

        var stripped = both.WithoutCharNgrams();
        Assert.Equal(wordTerms, Enumerable.Range(0, stripped.Dimension).Select(stripped.Term));
        Assert.Equal(words.Transform(texts[0]), stripped.Transform(texts[0]), SparseVectorComparer.Instance);
    }

    [Fact]
    public void Fit_ManyDocuments_CountsCharNgramsOnASample_WithTheirFrequencyScaledToTheWholeSet()
    {
        // About 3 in 10 documents hold "zyxwv", 1 in 10 "qoppa", at random; words are counted on all 10,000 documents,
        // character n-grams on an evenly spaced sample of 4,000.
        var random = new Random(12);
        var texts = Enumerable.Range(0, 10_000).Select(_ => random.NextDouble()).Select(r => new TextInput("ansøgning",
            "hej med dig" + (r < 0.3 ? " zyxwv" : r < 0.4 ? " qoppa" : ""))).ToList();

        var featurizer = TextFeaturizer.Fit(texts, new FeaturizerSettings { CharNgramMin = 2, CharNgramMax = 5 });
        var index = Enumerable.Range(0, featurizer.Dimension).ToDictionary(featurizer.Term);

        Assert.True(texts.Count > TextFeaturizer.CharCountDocuments);
        // The n-gram " zyxw" is in exactly the documents that hold "zyxwv": the same document frequency, so the same
        // IDF, although one was counted on all documents and the other on the sample.
        // (Within the sampling error of 4,000 documents: a few per cent of the document frequency.)
        Assert.InRange(featurizer.Idf(index["# zyxw"]) - featurizer.Idf(index["zyxwv"]), -0.05f, 0.05f);
        Assert.InRange(featurizer.Idf(index["#qopp"]) - featurizer.Idf(index["qoppa"]), -0.08f, 0.08f);
        Assert.True(featurizer.Idf(index["# zyxw"]) < featurizer.Idf(index["#qopp"]));
        // The sampled counts are used the same way when featurizing every document.
        var x = featurizer.Transform(texts.Last(t => t.Body.Contains("zyxwv", StringComparison.Ordinal)));
        Assert.Contains(index["# zyxw"], x.Indices);
    }

    [Fact]
    public void Fit_MoreDistinctTermsThanTheCountingBound_StillKeepsTheFrequentTerms()
    {
        var random = new Random(3);
        var texts = Enumerable.Range(0, 400).Select(i => new TextInput("ansøgning",
            "byggetilladelse carport " + string.Join(' ', Enumerable.Range(0, 20).Select(_ => RandomWord(random))))).ToList();

        var bounded = TextFeaturizer.Fit(texts, new FeaturizerSettings { MaxCountedTerms = 500, MaxDocumentFrequencyRatio = 1.0, WordNgrams = 1 });
        var terms = Enumerable.Range(0, bounded.Dimension).Select(bounded.Term).ToList();

        Assert.Contains("byggetilladelse", terms);
        Assert.Contains("carport", terms);
        Assert.Contains("ansøgning", terms);
        Assert.True(bounded.Dimension <= 500, $"{bounded.Dimension} terms");
    }

    [Fact]
    public void Train_ShortDanishTextCarriedByCompounds_ChoosesCharactersAlone()
    {
        // Short Danish titles whose meaning is in compounds ("byggetilladelse", "skolebarnsag"): each title joins a
        // label's stem to a common part, so whole words barely repeat while the stems do; words only add noise.
        var random = new Random(11);
        string[] parts = ["sag", "plan", "ansøgning", "tilladelse", "gebyr", "klage", "tilskud", "regler", "afgørelse", "frist"];
        var docs = new List<TrainingDocument>();
        for (var i = 0; i < 60; i++)
        {
            for (var l = 0; l < Stems.Length; l++)
            {
                var title = string.Join(' ', Enumerable.Range(0, 3).Select(_ => random.NextDouble() < 0.5
                    ? Stems[l] + parts[random.Next(parts.Length)] + RandomWord(random)[..2]
                    : parts[random.Next(parts.Length)] + Stems[random.Next(Stems.Length)]));
                docs.Add(new TrainingDocument($"label{l}", new TextInput("", title), $"{l}-{i}", null));
            }
        }

        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions).Bundle;

        Assert.Equal((0, 2, 5), (bundle.Manifest.Featurizer.WordNgrams, bundle.Manifest.Featurizer.CharNgramMin, bundle.Manifest.Featurizer.CharNgramMax));
        Assert.False(bundle.Manifest.Featurizer.CharNgramsByValidation); // the manifest holds what was used, not the rule
        Assert.EndsWith(": char 2-5", bundle.Manifest.Training.CharNgramChoice, StringComparison.Ordinal);
        Assert.All(Enumerable.Range(0, bundle.Model.Featurizer.Dimension), j => Assert.True(bundle.Model.Featurizer.IsCharNgram(j)));
        Assert.Equal("label2", bundle.Predict(new TextInput("", "skolebarnfristxq klagesag")).Label); // unseen compound, known stem
    }

    [Fact]
    public void Train_LabelsCarriedByWholeWords_StaysWithWords()
    {
        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(SyntheticCorpus.Make(40, seed: 2)), SyntheticCorpus.FastOptions).Bundle;

        Assert.Equal((0, 0), (bundle.Manifest.Featurizer.CharNgramMin, bundle.Manifest.Featurizer.CharNgramMax));
        Assert.EndsWith(": words 1-2", bundle.Manifest.Training.CharNgramChoice, StringComparison.Ordinal);
        Assert.DoesNotContain(Enumerable.Range(0, bundle.Model.Featurizer.Dimension), bundle.Model.Featurizer.IsCharNgram);
    }

    [Fact]
    public void Train_CharNgramsTooCostlyForMaxEnt_GoToNaiveBayesOnly()
    {
        var docs = SyntheticCorpus.Make(30, seed: 4);
        var options = SyntheticCorpus.FastOptions with
        {
            Featurizer = new FeaturizerSettings { MinDocumentFrequency = 1, CharNgramMin = 2, CharNgramMax = 5 },
            Trainer = SyntheticCorpus.FastOptions.Trainer with { CharNgramsNaiveBayesOnly = true },
        };

        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(docs), options).Bundle;
        var model = bundle.Model;
        var chars = Enumerable.Range(0, model.Featurizer.Dimension).Where(model.Featurizer.IsCharNgram).ToList();

        Assert.NotEmpty(chars);
        Assert.Null(bundle.Manifest.Training.CharNgramChoice); // set by hand, not chosen
        var words = Enumerable.Range(0, model.Featurizer.Dimension).Where(j => !model.Featurizer.IsCharNgram(j)).ToList();
        var labels = Enumerable.Range(0, model.Labels.Count).ToList();
        Assert.All(chars, j => Assert.All(labels, c => Assert.Equal(0f, model.LinearWeight(c, j))));
        Assert.Contains(words, j => labels.Any(c => model.LinearWeight(c, j) != 0));
    }

    private static string RandomWord(Random random) =>
        new([.. Enumerable.Range(0, 6).Select(_ => (char)('a' + random.Next(26)))]);

    private sealed class SparseVectorComparer : IEqualityComparer<SparseVector>
    {
        public static readonly SparseVectorComparer Instance = new();

        public bool Equals(SparseVector? x, SparseVector? y) =>
            x is not null && y is not null && x.Dimension == y.Dimension && x.Indices.SequenceEqual(y.Indices) && x.Values.SequenceEqual(y.Values);

        public int GetHashCode(SparseVector obj) => obj.Dimension;
    }
}
