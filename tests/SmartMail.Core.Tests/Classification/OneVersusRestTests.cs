using System.IO.Compression;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

/// <summary>The default linear member: one ML.NET LinearSvm per label, trained side by side, scaled to probabilities.</summary>
public sealed class OneVersusRestTests
{
    private sealed class MarginRow
    {
        public float Score { get; set; }
    }

    [Fact]
    public void TrainOneVersusRest_InParallel_GivesMlNetsOwnSvmPerLabel_AndItsMargins()
    {
        var docs = SyntheticCorpus.Make(40, seed: 21);
        var featurizer = TextFeaturizer.Fit([.. docs.Select(d => d.Text)], new FeaturizerSettings { MinDocumentFrequency = 1 });
        var labels = docs.Select(d => d.Label).Distinct(StringComparer.Ordinal).ToList();
        var rows = docs.Select(d => FeatureRow.From(featurizer.Transform(d.Text), d.Label)).ToArray();
        var label = docs.Select(d => labels.IndexOf(d.Label)).ToArray();
        var settings = new TrainerSettings { Seed = 5 };

        var (weights, biases) = ModelTrainer.TrainOneVersusRest(rows, label, labels.Count, featurizer.Dimension, settings);

        for (var c = 0; c < labels.Count; c++)
        {
            // The same label trained alone, on one thread, by ML.NET: the same SVM, and its predictor's margins are ours.
            var ml = new MLContext(settings.Seed);
            var alone = ModelTrainer.TrainBinary(ml, rows, ModelTrainer.ShuffledOrder(rows.Length, settings.Seed), label, c, featurizer.Dimension, settings);
            Assert.Equal(alone.Model.Weights.ToArray(), weights[c]);
            Assert.Equal(alone.Model.Bias, biases[c]);
            using var engine = ml.Model.CreatePredictionEngine<BinaryRow, MarginRow>(alone, inputSchemaDefinition: BinaryRow.Schema(featurizer.Dimension));
            foreach (var row in rows.Take(20))
            {
                var indices = row.Features.GetIndices();
                var values = row.Features.GetValues();
                var margin = biases[c];
                for (var k = 0; k < indices.Length; k++)
                {
                    margin += weights[c][indices[k]] * values[k];
                }
                Assert.Equal(engine.Predict(new BinaryRow { Features = row.Features }).Score, margin, 1e-4); // a tolerance: rounding to 4 places flips at …5
            }
        }
        Assert.Contains(weights, w => w.Any(v => v != 0));
    }

    [Fact]
    public void FitScoreScale_MaximisesTheHeldOutLikelihood()
    {
        // Every fourth document carries a wrong label, so no scale makes the held-out documents certain.
        var docs = SyntheticCorpus.Make(60, seed: 4);
        var labels = SyntheticCorpus.Labels.ToList();
        docs = [.. docs.Select((d, i) => i % 4 == 0 ? d with { Label = labels[(labels.IndexOf(d.Label) + 1) % labels.Count] } : d)];
        var (train, holdout, _) = ModelTraining.Split(docs, 0.3, 1);
        using var model = ModelTrainer.Train([.. train.Select(d => new LabeledText(d.Label, d.Text))], SyntheticCorpus.FastOptions.Featurizer, new TrainerSettings());

        var scale = ModelTraining.FitScoreScale(model, holdout);

        double Loss(float s)
        {
            model.ScoreScale = s;
            return holdout.Sum(d => -Math.Log(Math.Max(1e-30, model.Score(d.Text)[model.Labels.ToList().IndexOf(d.Label)])));
        }
        var best = Loss(scale);
        Assert.InRange(scale, 0.05f, 500f);
        Assert.True(best < Loss(scale * 0.7f), $"scale {scale}: a smaller one fits better");
        Assert.True(best < Loss(scale * 1.4f), $"scale {scale}: a larger one fits better");
    }

    [Fact]
    public void Train_Default_IsOneVersusRestWithAFittedScale_AndTheBundleHoldsItsWeights()
    {
        var docs = SyntheticCorpus.Make(40, seed: 9);
        docs = [.. docs.Select((d, i) => i % 5 == 0 ? d with { Label = SyntheticCorpus.Labels[(i / 5) % SyntheticCorpus.Labels.Count] } : d)];
        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(docs), SyntheticCorpus.FastOptions with { Trainer = new TrainerSettings() }).Bundle;
        using var directory = new TempDirectory();
        using var loaded = SaveAndLoad(bundle, directory, holds: "linear.bin", lacks: "model.mlnet");

        Assert.Equal(TrainerSettings.OneVersusRestSvm, bundle.Manifest.Trainer.Trainer);
        Assert.NotEqual(1f, bundle.Manifest.Trainer.ScoreScale);
        Assert.Equal(bundle.Manifest.Trainer.ScoreScale, loaded.Model.ScoreScale);
        foreach (var label in SyntheticCorpus.Labels)
        {
            var text = SyntheticCorpus.TextFor(label, seed: 3);
            Assert.Equal(bundle.Model.Score(text), loaded.Model.Score(text));
        }
    }

    [Fact]
    public void Train_SdcaMaximumEntropy_StillTrainsSavesAndLoads()
    {
        var docs = SyntheticCorpus.Make(30, seed: 8);
        var options = SyntheticCorpus.FastOptions with { Trainer = SyntheticCorpus.FastOptions.Trainer with { Trainer = TrainerSettings.SdcaMaximumEntropy } };
        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(docs), options).Bundle;
        using var directory = new TempDirectory();
        using var loaded = SaveAndLoad(bundle, directory, holds: "model.mlnet", lacks: "linear.bin");

        Assert.Equal(1f, loaded.Model.ScoreScale);
        var text = SyntheticCorpus.TextFor("skat", seed: 2);
        Assert.Equal(bundle.Model.Score(text), loaded.Model.Score(text));
        Assert.Equal("skat", loaded.Predict(text).Label);
    }

    [Fact]
    public void Load_UnknownTrainer_IsRefusedNamingIt()
    {
        using var bundle = ModelTraining.Train(SyntheticCorpus.Set(SyntheticCorpus.Make(20, seed: 2)), SyntheticCorpus.FastOptions).Bundle;
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "other.zip");
        bundle.Save(path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            var entry = zip.GetEntry("manifest.json")!;
            JsonNode manifest;
            using (var read = entry.Open())
            {
                manifest = JsonNode.Parse(read)!;
            }
            manifest["trainer"]!["trainer"] = "xgboost";
            entry.Delete();
            using var write = new StreamWriter(zip.CreateEntry("manifest.json").Open());
            write.Write(manifest.ToJsonString());
        }

        var ex = Assert.Throws<ModelBundleException>(() => ModelBundle.Load(path));

        Assert.Contains("'xgboost'", ex.Message, StringComparison.Ordinal);
    }

    // Saves the bundle, checks which linear member it holds, and loads it back.
    private static ModelBundle SaveAndLoad(ModelBundle bundle, TempDirectory directory, string holds, string lacks)
    {
        var path = Path.Combine(directory.Path, "model.zip");
        bundle.Save(path);
        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.NotNull(zip.GetEntry(holds));
            Assert.Null(zip.GetEntry(lacks));
        }
        return ModelBundle.Load(path);
    }

    private sealed class TempDirectory : IDisposable
    {
        private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("smartmail-ova-");

        public string Path => _directory.FullName;

        public void Dispose() => _directory.Delete(recursive: true);
    }
}
