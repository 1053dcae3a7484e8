using BenchmarkDotNet.Attributes;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>Raw RFC 822 bytes to <see cref="MailDocument"/> for three real messages of different shape.</summary>
[MemoryDiagnoser]
public class ExtractionBenchmarks
{
    private readonly MailExtractor _extractor = new();
    private ReadOnlyMemory<byte> _raw;

    /// <summary>The sample in <c>TestData/</c>: a 2 KB 20news post, an HTML-only spam, a multipart ham with two PNGs.</summary>
    [ParamsSource(nameof(Messages))]
    public string Message { get; set; } = BenchmarkData.SampleNames[0];

    /// <summary>The values of <see cref="Message"/>.</summary>
    public static IEnumerable<string> Messages => BenchmarkData.SampleNames;

    /// <summary>Reads the sample.</summary>
    [GlobalSetup]
    public void Setup() => _raw = BenchmarkData.ReadSample(Message);

    /// <summary>The whole extraction (fingerprint, MimeKit parse, body walk, HTML to text, quote trim, language guess).</summary>
    [Benchmark]
    public MailDocument MailExtractor_Extract_Raw() => _extractor.Extract(_raw);
}
