using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Text;

namespace SmartMail.Core.Tests.Classification;

/// <summary>
/// The shipped default model scored the fast way (maximum-entropy weights read from the model, feature-major, own
/// softmax; featurizer hash table and per-thread buffers) against the reference ways (ML.NET's PredictionEngine; a
/// featurizer written the obvious way with a dictionary of strings).
/// </summary>
public sealed class TextModelScoringTests : IClassFixture<ShippedModelFixture>
{
    private readonly ShippedModelFixture _shipped;

    public TextModelScoringTests(ShippedModelFixture shipped) => _shipped = shipped;

    [Fact]
    public void Transform_HashTableFeaturizer_EqualsDictionaryOfStringsBitForBit()
    {
        var featurizer = _shipped.Bundle.Model.Featurizer;
        var index = Enumerable.Range(0, featurizer.Dimension).ToDictionary(featurizer.Term, i => i, StringComparer.Ordinal);

        foreach (var text in _shipped.Documents)
        {
            var expected = Reference(featurizer, index, text);
            var actual = featurizer.Transform(text);

            Assert.Equal(expected.Indices, actual.Indices);
            Assert.Equal(expected.Values, actual.Values);
        }
    }

    [Fact]
    public void Score_DirectMaximumEntropy_MatchesPredictionEngineWithin1e5AndSameTopLabel()
    {
        var model = _shipped.Bundle.Model;
        var documents = _shipped.Documents;

        var compared = 0;
        foreach (var text in documents)
        {
            var features = model.Featurizer.Transform(text);
            var fast = model.Score(features);
            var reference = model.ScoreReference(features);

            Assert.Equal(reference.Length, fast.Length);
            for (var c = 0; c < fast.Length; c++)
            {
                Assert.True(Math.Abs(fast[c] - reference[c]) <= 1e-5f, $"label {model.Labels[c]}: {fast[c]} vs {reference[c]} for '{text.Subject}'");
            }
            Assert.Equal(ArgMax(reference), ArgMax(fast));
            compared++;
        }
        Assert.True(compared >= 300, $"only {compared} documents");
    }

    [Fact]
    public void Score_TextAndItsVector_GiveIdenticalScores()
    {
        var model = _shipped.Bundle.Model;

        foreach (var text in _shipped.Documents)
        {
            Assert.Equal(model.Score(model.Featurizer.Transform(text)), model.Score(text));
        }
    }

    [Theory]
    [InlineData("", "Se vedhæftede.")]
    [InlineData("Se vedhæftede", "")]
    [InlineData("", "se")]
    public void Predict_MailThatSaysAlmostNothing_IsNotConfidentAndGoesToAPerson(string subject, string body)
    {
        // Before the evidence guard "Se vedhæftede." went to comp.sys.mac.hardware at 0.967 on the token "se".
        var bundle = _shipped.Bundle;

        var prediction = bundle.Predict(new TextInput(subject, body));
        var decision = SmartMail.Core.Routing.RoutingPolicy.FromPrediction(prediction, bundle);

        Assert.True(prediction.Confidence < 0.5f, $"{prediction.Label} at {prediction.Confidence}");
        Assert.Equal(SmartMail.Core.Routing.DecisionSource.Manual, decision.Source);
    }

    [Fact]
    public void Predict_OrdinaryMail_IsUntouchedByTheEvidenceGuard()
    {
        var model = _shipped.Bundle.Model;
        var text = new TextInput("Re: clutch replacement", "My car's clutch slips in third gear; the dealer wants $600 to replace the clutch plate and the flywheel.");
        Assert.True(model.Featurizer.TransformScratch(text).KnownWords >= model.FullEvidenceWords);

        var probabilities = model.Score(text);
        var unguarded = (float[])probabilities.Clone();
        TextModel.ShrinkByEvidence(unguarded, model.FullEvidenceWords, model.FullEvidenceWords);

        Assert.Equal(unguarded, probabilities);
        Assert.Equal("rec.autos", _shipped.Bundle.Predict(text).Label);
    }

    [Fact]
    public void ShrinkByEvidence_KeepsTheOrderAndMovesTowardsUniform()
    {
        float[] p = [0.9f, 0.08f, 0.02f];
        var one = (float[])p.Clone();
        var none = (float[])p.Clone();
        var full = (float[])p.Clone();

        TextModel.ShrinkByEvidence(one, 1, 5);
        TextModel.ShrinkByEvidence(none, 0, 5);
        TextModel.ShrinkByEvidence(full, 5, 5);

        Assert.True(one[0] < p[0] && one[0] > one[1] && one[1] > one[2], string.Join(", ", one));
        Assert.Equal(1.0, one.Sum(), 5);
        Assert.All(none, v => Assert.Equal(1f / 3, v, 5));
        Assert.Equal(p, full);
    }

    // Words and word pairs only: the shipped model has no character n-grams.
    private static SparseVector Reference(TextFeaturizer featurizer, Dictionary<string, int> index, TextInput text)
    {
        var settings = featurizer.Settings;
        Assert.Equal((0, true), (settings.CharNgramMin, settings.SublinearTf));
        var counts = new SortedDictionary<int, float>();
        foreach (var (part, weight) in new[] { (text.Subject, (float)settings.SubjectWeight), (text.Body[..Math.Min(text.Body.Length, settings.MaxTextLength)], 1f) })
        {
            string? previous = null;
            foreach (var span in Tokenizer.Words(part))
            {
                var token = span.ToString();
                if (token.Length < 2)
                {
                    previous = null;
                    continue;
                }
                foreach (var term in previous is null ? [token] : new[] { token, previous + " " + token })
                {
                    if (index.TryGetValue(term, out var i))
                    {
                        counts[i] = counts.GetValueOrDefault(i) + weight;
                    }
                }
                previous = token;
            }
        }
        var indices = counts.Keys.ToArray();
        var values = indices.Select(i => (1f + MathF.Log(counts[i])) * featurizer.Idf(i)).ToArray();
        var norm = values.Sum(v => (double)v * v);
        var scale = (float)(1.0 / Math.Sqrt(norm));
        return new SparseVector(featurizer.Dimension, indices, norm > 0 ? [.. values.Select(v => v * scale)] : values);
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}

/// <summary>
/// The shipped default model and a few hundred documents to score: the mails in TestData and tests/TestData/english-inbox, and
/// 300 documents of 20 to 300 terms drawn (seeded) from the model's own vocabulary, so that many weight rows are read.
/// </summary>
public sealed class ShippedModelFixture : IDisposable
{
    public ShippedModelFixture()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SmartMail.sln")))
        {
            root = root.Parent;
        }
        var repository = root?.FullName ?? throw new InvalidOperationException("SmartMail.sln not found above the test binaries.");
        Bundle = ModelBundle.Load(Path.Combine(repository, "models", "default", "smartmail-20news.zip"));

        var extractor = new MailExtractor();
        var mails = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "eml"))
            .Concat(Directory.GetFiles(Path.Combine(repository, "tests", "TestData", "english-inbox"), "*.eml"))
            .Order(StringComparer.Ordinal)
            .Select(f => extractor.Extract(File.ReadAllBytes(f)))
            .Select(d => new TextInput(d.Subject, d.Body));
        var featurizer = Bundle.Model.Featurizer;
        var random = new Random(20_11_25);
        var drawn = Enumerable.Range(0, 300).Select(_ =>
        {
            var terms = Enumerable.Range(0, random.Next(20, 300)).Select(_ => featurizer.Term(random.Next(featurizer.Dimension)));
            return new TextInput(featurizer.Term(random.Next(featurizer.Dimension)), string.Join(random.Next(3) == 0 ? "\n" : " ", terms));
        });
        Documents = [.. mails, .. drawn];
    }

    public ModelBundle Bundle { get; }

    public IReadOnlyList<TextInput> Documents { get; }

    public void Dispose() => Bundle.Dispose();
}
