using BenchmarkDotNet.Attributes;
using MimeKit;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using SmartMail.Core.Text;

namespace SmartMail.Benchmarks;

/// <summary>
/// The stages of one end-to-end decision for the 2 KB message, measured one by one, to show where the time
/// and the allocations go. Not a contract: each stage is called the way <see cref="MailExtractor"/>,
/// <see cref="TextModel"/> and <see cref="RoutingPolicy"/> call it.
/// </summary>
[MemoryDiagnoser]
public class StageBenchmarks
{
    private static readonly ParserOptions Parser = ParserOptions.Default.Clone();
    private readonly MimeParser _parser = new(Parser, Stream.Null, MimeFormat.Entity);
    private byte[] _raw = [];
    private MailDocument _doc = null!;
    private ModelBundle _bundle = null!;
    private float[] _scores = [];

    /// <summary>Loads the model and the 2 KB sample.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        _raw = BenchmarkData.ReadSample("plain-20news-2kb");
        _doc = new MailExtractor().Extract(_raw);
        _scores = _bundle.Model.Score(new TextInput(_doc.Subject, _doc.Body));
    }

    /// <summary>Releases the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bundle.Dispose();

    /// <summary>SHA-256 of the raw bytes as lower-case hex.</summary>
    [Benchmark]
    public string MailExtractor_Fingerprint_Plain2KB() => MailExtractor.Fingerprint(_raw);

    /// <summary>MimeKit's parse into a <see cref="MimeMessage"/> tree with a new parser, as <c>MimeMessage.Load</c> does.</summary>
    [Benchmark]
    public MimeMessage MimeMessage_Load_Plain2KB()
    {
        using var stream = new MemoryStream(_raw, writable: false);
        return MimeMessage.Load(Parser, stream);
    }

    /// <summary>The same parse with one parser reset per message (<see cref="MimeParser.SetStream(Stream, MimeFormat, bool)"/>), as <see cref="MailExtractor"/> does.</summary>
    [Benchmark]
    public MimeMessage MimeParser_Reused_Plain2KB()
    {
        using var stream = new MemoryStream(_raw, writable: false);
        _parser.SetStream(stream, MimeFormat.Entity, persistent: false);
        return _parser.ParseMessage();
    }

    /// <summary>Line clean-up of the body.</summary>
    [Benchmark]
    public string TextNormalizer_TidyLines_Plain2KB() => TextNormalizer.TidyLines(_doc.Body);

    /// <summary>Quote trimming of the body (four regexes per line); only on the extraction path when <see cref="ExtractionOptions.TrimQuotes"/> is on (off by default).</summary>
    [Benchmark]
    public string QuoteTrimmer_Trim_Plain2KB() => QuoteTrimmer.Trim(_doc.Body);

    /// <summary>The Danish/English stop-word vote.</summary>
    [Benchmark]
    public string? LanguageGuesser_Guess_Plain2KB() => LanguageGuesser.Guess(_doc.Subject, _doc.Body);

    /// <summary>Top three from the probabilities.</summary>
    [Benchmark]
    public Prediction Prediction_FromScores_Plain2KB() => Prediction.FromScores(_bundle.Model.Labels, _scores);

    /// <summary>Threshold lookup and the reason string.</summary>
    [Benchmark]
    public RoutingDecision RoutingPolicy_FromPrediction_Plain2KB() =>
        RoutingPolicy.FromPrediction(Prediction.FromScores(_bundle.Model.Labels, _scores), _bundle);
}
