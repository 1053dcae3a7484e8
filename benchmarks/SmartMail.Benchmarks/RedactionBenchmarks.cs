using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;

namespace SmartMail.Benchmarks;

/// <summary>
/// CPR redaction of an extracted body (it runs on every mail's text and every log line): the scanner against the
/// regular expression it replaced, which found only <c>DDMMYY[-– ]SSSS</c>.
/// </summary>
[MemoryDiagnoser]
public partial class RedactionBenchmarks
{
    private string _text = "";

    /// <summary>The body of a sample in <c>TestData/</c>, with or without CPR numbers in it.</summary>
    [ParamsSource(nameof(Texts))]
    public string Text { get; set; } = "plain-20news-2kb";

    /// <summary>The values of <see cref="Text"/>.</summary>
    public static IEnumerable<string> Texts => ["plain-20news-2kb", "html-newsletter", "plain-20news-2kb+cpr"];

    /// <summary>Extracts the body.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var body = new MailExtractor().Extract(BenchmarkData.ReadSample(Text.Split('+')[0])).Body;
        _text = Text.EndsWith("+cpr", StringComparison.Ordinal) ? $"CPR 31.12.75-4321. {body} Min datter: 010190 1234." : body;
    }

    /// <summary>The regular expression before the scanner.</summary>
    [Benchmark(Baseline = true)]
    public string Regex_Redact() => OldCandidate().Replace(_text, static m => "[CPR]");

    /// <summary>The scanner.</summary>
    [Benchmark]
    public string Cpr_Redact() => Cpr.Redact(_text);

    /// <summary>CPR numbers and addresses, as logs and stores get it.</summary>
    [Benchmark]
    public string Redactor_Redact() => Redactor.Redact(_text);

    [GeneratedRegex(@"(?<!\d)(?<dd>\d{2})(?<mm>\d{2})(?<yy>\d{2})[-\u2013 ]?(?<serial>\d{4})(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex OldCandidate();
}
