using System.IO.Compression;
using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

public sealed class ModelTrainingTests(TrainedModelFixture fixture) : IClassFixture<TrainedModelFixture>
{
    [Fact]
    public void Train_SeparableLabels_LearnsThemOnHeldOutData()
    {
        var report = fixture.Result.Holdout;

        Assert.NotNull(report);
        Assert.True(report.Summary.Accuracy >= 0.9, $"held-out accuracy {report.Summary.Accuracy}");
        Assert.Equal(["byggeri", "skat", "skole"], fixture.Bundle.Model.Labels.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Train_LabelWithTooFewExamples_IsManualOnlyWithCountNeeded()
    {
        var manual = Assert.Single(fixture.Bundle.Manifest.ManualOnlyLabels);

        Assert.Equal("affald", manual.Name);
        Assert.Equal(4, manual.Count);
        Assert.Equal(6, manual.Needed);
        Assert.DoesNotContain("affald", fixture.Bundle.Model.Labels);
    }

    [Fact]
    public void Train_SizeRule_AddsCharacterNgramsToSmallTextOnlyAndRecordsWhatWasUsed()
    {
        var rule = new FeaturizerSettings { CharNgramsByValidation = false, CharNgramsBelowCharacters = 5_000_000 };

        Assert.Equal((2, 5, 0L), (rule.Resolve(10_000).CharNgramMin, rule.Resolve(10_000).CharNgramMax, rule.Resolve(10_000).CharNgramsBelowCharacters));
        Assert.Equal((0, 0), (rule.Resolve(10_000_000).CharNgramMin, rule.Resolve(10_000_000).CharNgramMax));
        Assert.Equal(0, new FeaturizerSettings().Resolve(10_000).CharNgramMin); // by default the size decides nothing
    }

    [Fact]
    public void Train_Manifest_RecordsDataSettingsAndThresholds()
    {
        var m = fixture.Bundle.Manifest;

        Assert.Equal(ModelManifest.CurrentFormat, m.Format);
        Assert.Equal(180, m.Training.Documents);
        Assert.Equal(64, m.Training.Fingerprint.Length);
        Assert.Equal(0.95, m.Training.TargetPrecision);
        Assert.NotNull(m.HoldoutMetrics);
        Assert.All(m.Labels, l => Assert.Equal(60, l.Count));
        Assert.Contains(m.Labels, l => l.Threshold is > 0f and <= 1f);
    }

    [Fact]
    public void Predict_ReturnsTopThreeSortedWithProbabilities()
    {
        var prediction = fixture.Bundle.Predict(SyntheticCorpus.TextFor("skat", seed: 99));

        Assert.Equal("skat", prediction.Label);
        Assert.Equal(3, prediction.Top.Count);
        Assert.Equal(prediction.Confidence, prediction.Top[0].Score);
        Assert.True(prediction.Top[0].Score >= prediction.Top[1].Score && prediction.Top[1].Score >= prediction.Top[2].Score);
        Assert.InRange(prediction.Top.Sum(t => t.Score), 0.99f, 1.01f);
    }

    [Fact]
    public void SaveAndLoad_RoundTrip_GivesIdenticalScores()
    {
        using var loaded = ModelBundle.Load(fixture.BundlePath);
        var text = SyntheticCorpus.TextFor("skole", seed: 5);

        Assert.Equal(fixture.Bundle.Manifest.ModelVersion, loaded.Manifest.ModelVersion);
        Assert.Equal(fixture.Bundle.Model.Score(text), loaded.Model.Score(text));
    }

    [Fact]
    public void Train_SameSeedTwice_GivesIdenticalModel()
    {
        var docs = SyntheticCorpus.Make(30, seed: 3);
        using var a = ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions).Bundle;
        using var b = ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions).Bundle;
        var text = SyntheticCorpus.TextFor("byggeri", seed: 11);

        Assert.Equal(a.Model.Score(text), b.Model.Score(text));
        Assert.Equal(a.Manifest.Labels, b.Manifest.Labels);
    }

    [Fact]
    public void Score_FromManyThreads_MatchesSingleThreaded()
    {
        var texts = Enumerable.Range(0, 64).Select(i => SyntheticCorpus.TextFor(SyntheticCorpus.Labels[i % 3], i)).ToArray();
        var expected = texts.Select(t => fixture.Bundle.Model.Score(t)).ToArray();
        var actual = new float[texts.Length][];

        Parallel.For(0, texts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => actual[i] = fixture.Bundle.Model.Score(texts[i]));

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Explain_NamesTheLabelsOwnWords()
    {
        var model = fixture.Bundle.Model;

        var terms = model.Explain(new TextInput("grundskyld", "jeg har en restance på min ejendomsskat"), model.Labels.ToList().IndexOf("skat"), 3)
            .Select(t => t.Term).ToList();

        Assert.NotEmpty(terms);
        Assert.Contains(terms, t => t is "grundskyld" or "restance" or "ejendomsskat");
        Assert.DoesNotContain(terms, t => t.StartsWith('#')); // character n-grams are folded into their words
    }

    [Fact]
    public void Train_OneUsableLabel_ThrowsNamingTheCounts()
    {
        var docs = SyntheticCorpus.Make(20, seed: 1, new Dictionary<string, int> { ["skat"] = 2, ["skole"] = 2, ["affald"] = 2 });

        var ex = Assert.Throws<TrainingDataException>(() => ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions));

        Assert.Contains("at least two labels", ex.Message);
        Assert.Contains("byggeri: 20", ex.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsClearError()
    {
        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(Path.Combine(fixture.Directory.FullName, "nope.zip")));

        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void Load_NotAZip_ThrowsCorrupt()
    {
        var path = Path.Combine(fixture.Directory.FullName, "garbage.zip");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 1000).Select(i => (byte)(i * 31))]);

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(path));

        Assert.Contains("corrupt or not a SmartMail model", ex.Message);
    }

    [Fact]
    public void Load_ForeignZip_NamesTheMissingManifest()
    {
        var path = Path.Combine(fixture.Directory.FullName, "foreign.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var w = new StreamWriter(zip.CreateEntry("readme.txt").Open());
            w.Write("not a model");
        }

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(path));

        Assert.Contains("manifest.json", ex.Message);
    }

    [Fact]
    public void Load_OtherFormatVersion_IsRefusedWithBothFormats()
    {
        var path = Path.Combine(fixture.Directory.FullName, "future.zip");
        File.Copy(fixture.BundlePath, path, overwrite: true);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            zip.GetEntry("manifest.json")!.Delete();
            using var w = new StreamWriter(zip.CreateEntry("manifest.json").Open());
            w.Write("""{"format":"smartmail-model/99"}""");
        }

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(path));

        Assert.Contains("smartmail-model/99", ex.Message);
        Assert.Contains(ModelManifest.CurrentFormat, ex.Message);
    }

    [Fact]
    public void Load_TruncatedModelEntry_IsRefused()
    {
        var path = Path.Combine(fixture.Directory.FullName, "truncated.zip");
        File.Copy(fixture.BundlePath, path, overwrite: true);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var name = zip.GetEntry("linear.bin") is null ? "model.mlnet" : "linear.bin";
            zip.GetEntry(name)!.Delete();
            zip.CreateEntry(name).Open().Dispose();
        }

        Assert.Throws<ModelBundleException>(() => ModelBundle.Load(path));
    }
}
