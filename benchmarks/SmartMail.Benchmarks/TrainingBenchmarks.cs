using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using SmartMail.Core.Classification;

namespace SmartMail.Benchmarks;

/// <summary>
/// A fixed training run: 2,000 messages of 20news-bydate-train (the first 100 files per group in ordinal name
/// order, extracted once in setup), default <see cref="TrainingOptions"/> with a 20 % holdout. Three monitored runs.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 3)]
public class TrainingBenchmarks
{
    private TrainingSet? _set;
    private readonly TrainingOptions _options = new() { HoldoutFraction = 0.2 };

    /// <summary>Reads and extracts the 2,000 messages.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _set = BenchmarkData.LoadTrainingSet(perGroup: 100);
        if (_set is not null)
        {
            Console.WriteLine($"// training set: {_set.Documents.Count} documents, {_set.LabelCounts.Count} labels");
        }
    }

    /// <summary>Split, train the holdout model and the refit model (side by side), choose thresholds, evaluate.</summary>
    [Benchmark]
    public string? ModelTraining_Train_20news2000()
    {
        if (_set is null)
        {
            return null;
        }
        var result = ModelTraining.Train(_set, _options);
        using var bundle = result.Bundle;
        return bundle.Manifest.ModelVersion;
    }
}
