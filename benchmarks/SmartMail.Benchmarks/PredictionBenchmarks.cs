using BenchmarkDotNet.Attributes;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>
/// <see cref="MailDocument"/> to <see cref="Prediction"/> with the default model, single-threaded: featurize only,
/// score only, both, and a batch of 256 test documents (time reported per document).
/// </summary>
[MemoryDiagnoser]
public class PredictionBenchmarks
{
    private ModelBundle _bundle = null!;
    private MailDocument _single = null!;
    private TextInput _singleText;
    private SparseVector _singleVector = null!;
    private MailDocument[] _batch = [];

    /// <summary>Loads the model, the 2 KB sample and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        var extractor = new MailExtractor();
        _single = extractor.Extract(BenchmarkData.ReadSample("plain-20news-2kb"));
        _singleText = new TextInput(_single.Subject, _single.Body);
        _singleVector = _bundle.Model.Featurizer.Transform(_singleText);
        _batch = [.. BenchmarkData.LoadTestBatch().Select(raw => extractor.Extract(raw))];
    }

    /// <summary>Releases the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bundle.Dispose();

    /// <summary>Text to sparse TF-IDF vector (tokenize, n-grams, vocabulary lookup, normalise).</summary>
    [Benchmark]
    public SparseVector TextFeaturizer_Transform_Single() => _bundle.Model.Featurizer.Transform(_singleText);

    /// <summary>Vector to probabilities: maximum entropy from the model's weights plus the naive Bayes ensemble.</summary>
    [Benchmark]
    public float[] TextModel_Score_Single() => _bundle.Model.Score(_singleVector);

    /// <summary>The same through ML.NET's PredictionEngine (the reference path the direct one is tested against).</summary>
    [Benchmark]
    public float[] TextModel_ScoreReference_Single() => _bundle.Model.ScoreReference(_singleVector);

    /// <summary>Only naive Bayes, with its own (reference) weight table.</summary>
    [Benchmark]
    public double ComplementNaiveBayes_Score_Single()
    {
        Span<double> output = stackalloc double[_bundle.Model.Labels.Count];
        _bundle.Model.NaiveBayes?.Score(_singleVector, output);
        return output[0];
    }

    /// <summary>Document to prediction: featurize + score + top three.</summary>
    [Benchmark(Baseline = true)]
    public Prediction ModelBundle_Predict_Single() => _bundle.Predict(new TextInput(_single.Subject, _single.Body));

    /// <summary>256 test documents one after another; the reported time is per document.</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.BatchSize)]
    public Prediction ModelBundle_Predict_Batch256()
    {
        Prediction last = null!;
        foreach (var doc in _batch)
        {
            last = _bundle.Predict(new TextInput(doc.Subject, doc.Body));
        }
        return last;
    }
}
