using BenchmarkDotNet.Attributes;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>
/// The 256-document batch of <see cref="PredictionBenchmarks"/> scored with <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>
/// at 1 and 2 threads (the model shares its weights read-only; each thread has its own featurizer buffers). The reported time is per document.
/// Kept apart from <see cref="PredictionBenchmarks"/> so that the thread count does not multiply the single-document runs.
/// </summary>
[MemoryDiagnoser]
public class PredictionParallelBenchmarks
{
    private ModelBundle _bundle = null!;
    private MailDocument[] _batch = [];
    private Prediction[] _results = [];
    private ParallelOptions _options = new();

    /// <summary>Maximum degree of parallelism.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Loads the model and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        var extractor = new MailExtractor();
        _batch = [.. BenchmarkData.LoadTestBatch().Select(raw => extractor.Extract(raw))];
        _results = new Prediction[_batch.Length];
        _options = new ParallelOptions { MaxDegreeOfParallelism = Threads };
    }

    /// <summary>Releases the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bundle.Dispose();

    /// <summary>256 documents over <see cref="Threads"/> threads.</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.BatchSize)]
    public Prediction[] ModelBundle_Predict_ParallelBatch256()
    {
        Parallel.For(0, _batch.Length, _options, i =>
            _results[i] = _bundle.Predict(new TextInput(_batch[i].Subject, _batch[i].Body)));
        return _results;
    }
}
