using SmartMail.Core.Classification;

namespace SmartMail.Core.Tests.Classification;

/// <summary>One model trained on the synthetic corpus, shared by a test class.</summary>
public sealed class TrainedModelFixture : IDisposable
{
    public TrainedModelFixture()
    {
        // "affald" has only 4 examples: below the minimum, so it must become manual-only.
        var docs = SyntheticCorpus.Make(60, seed: 7, new Dictionary<string, int> { ["affald"] = 4 });
        // With character 2-5-grams, as the size rule gave this small corpus before character n-grams were chosen on
        // the validation split (which keeps words only here: the labels' words are whole and repeat).
        var options = SyntheticCorpus.FastOptions;
        Result = ModelTraining.Train(SyntheticCorpus.Set(docs), options with { Featurizer = options.Featurizer with { CharNgramMin = 2, CharNgramMax = 5 } });
        Directory = System.IO.Directory.CreateTempSubdirectory("smartmail-model-");
        BundlePath = Path.Combine(Directory.FullName, "model.zip");
        Result.Bundle.Save(BundlePath);
    }

    public TrainingResult Result { get; }

    public ModelBundle Bundle => Result.Bundle;

    public DirectoryInfo Directory { get; }

    public string BundlePath { get; }

    public void Dispose()
    {
        Result.Bundle.Dispose();
        Directory.Delete(recursive: true);
    }
}
