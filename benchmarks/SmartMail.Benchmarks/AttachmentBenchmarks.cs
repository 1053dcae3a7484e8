using BenchmarkDotNet.Attributes;
using MimeKit;
using SmartMail.Core.Mime;

namespace SmartMail.Benchmarks;

/// <summary>
/// Time per mail with a 2 MB PDF attached (a many-page text PDF made by PdfPig's builder): the whole extraction with
/// attachment text read under the default bounds (the first 50 pages, 20,000 characters), and with it off.
/// </summary>
[MemoryDiagnoser]
public class AttachmentBenchmarks
{
    private const string Page = """
        Ansøgning om boligstøtte. Jeg lejer en toværelses lejlighed på 62 m² i en almen boligforening. Den månedlige
        husleje er 6.450 kr. uden varme. I husstanden bor jeg og min datter på 7 år. Jeg arbejder 30 timer om ugen som
        sosu-hjælper i hjemmeplejen, og min forventede årsindkomst før skat er 262.000 kr. Jeg søger hermed om
        boligstøtte fra den 1. november og vedlægger lejekontrakt og lønsedler for de seneste tre måneder.
        """;

    private readonly MailExtractor _read = new();
    private readonly MailExtractor _off = new(new ExtractionOptions { ReadAttachments = false });
    private ReadOnlyMemory<byte> _raw;

    /// <summary>The size of the attached PDF in bytes.</summary>
    public int PdfBytes { get; private set; }

    /// <summary>Builds a PDF of at least 2 MiB and a mail around it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var text = string.Concat(Enumerable.Repeat(Page + "\n", 8));
        var onePage = AttachmentExperiment.Pdf(text, 1).Length;
        var pages = 1;
        byte[] pdf;
        do
        {
            pages = Math.Max(pages + 1, pages * 2 * 1024 * 1024 / Math.Max(1, onePage));
            pdf = AttachmentExperiment.Pdf(text, pages);
            onePage = pdf.Length / pages;
        }
        while (pdf.Length < 2 * 1024 * 1024);
        PdfBytes = pdf.Length;
        Console.WriteLine($"// attached PDF: {pdf.Length} bytes, {pages} pages");

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Borger", "borger@example.dk"));
        message.To.Add(new MailboxAddress("Kommunen", "post@kommune.example.dk"));
        message.Subject = "Hermed ansøgning";
        message.MessageId = "pdf-2mb@example.dk";
        var builder = new BodyBuilder { TextBody = "Se vedhæftede." };
        builder.Attachments.Add("ansoegning.pdf", pdf, ContentType.Parse("application/pdf"));
        message.Body = builder.ToMessageBody();
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        _raw = stream.ToArray();
    }

    /// <summary>Extraction with attachment text read (the default).</summary>
    [Benchmark]
    public MailDocument MailExtractor_Extract_Pdf2MB() => _read.Extract(_raw);

    /// <summary>Extraction with <see cref="ExtractionOptions.ReadAttachments"/> off: MIME parse and fingerprint only.</summary>
    [Benchmark(Baseline = true)]
    public MailDocument MailExtractor_Extract_Pdf2MB_AttachmentsOff() => _off.Extract(_raw);
}
