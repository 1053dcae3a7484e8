using BenchmarkDotNet.Attributes;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;

namespace SmartMail.Benchmarks;

/// <summary>
/// Raw bytes to <see cref="RoutingDecision"/> on one thread: extract, featurize, score, apply the policy
/// (no rules, so every mail reaches the model), for the 2 KB message and per mail over 256 test mails.
/// </summary>
[MemoryDiagnoser]
public class EndToEndBenchmarks
{
    private readonly MailExtractor _extractor = new();
    private ModelBundle _bundle = null!;
    private RoutingPolicy _policy = null!;
    private byte[] _plain = [];
    private byte[][] _batch = [];

    /// <summary>Loads the model, the 2 KB sample and the batch.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        _policy = new RoutingPolicy([], _bundle);
        _plain = BenchmarkData.ReadSample("plain-20news-2kb");
        _batch = BenchmarkData.LoadTestBatch();
    }

    /// <summary>Releases the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bundle.Dispose();

    /// <summary>The 2 KB plain-text 20news post.</summary>
    [Benchmark(Baseline = true)]
    public RoutingDecision Pipeline_Route_Plain2KB() => _policy.Decide(_extractor.Extract(_plain));

    /// <summary>256 raw test mails one after another; the reported time and allocation are per mail.</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.BatchSize)]
    public RoutingDecision Pipeline_Route_PerMailBatch256()
    {
        RoutingDecision last = null!;
        foreach (var raw in _batch)
        {
            last = _policy.Decide(_extractor.Extract(raw));
        }
        return last;
    }
}
