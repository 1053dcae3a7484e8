using BenchmarkDotNet.Attributes;
using MimeKit;
using SmartMail.Core.Attachments;
using SmartMail.Core.Classification;
using SmartMail.Core.Mime;
using SmartMail.Core.Routing;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace SmartMail.Benchmarks;

/// <summary>
/// Time per mail with a 2 MB PDF attached (a scanned form as PdfPig's builder makes one: 10 pages of text and a 2 MB page
/// image): the whole extraction with attachment text read under the default bounds, and with it off.
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
    private ModelBundle _bundle = null!;
    private RoutingPolicy _policy = null!;
    private MailDocument _launchForm = null!;
    private MailDocument _launchFormInBody = null!;
    private readonly MailExtractor _off = new(new ExtractionOptions { ReadAttachments = false });
    private ReadOnlyMemory<byte> _raw;

    /// <summary>The size of the attached PDF in bytes.</summary>
    public int PdfBytes { get; private set; }

    /// <summary>Builds a 2 MiB PDF (a scanned form: 10 pages of text and one 2 MiB page image) and a mail around it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var text = string.Concat(Enumerable.Repeat(Page + "\n", 8));
        var pdfBuilder = new PdfDocumentBuilder();
        var font = pdfBuilder.AddStandard14Font(Standard14Font.Helvetica);
        var lines = text.Replace("æ", "ae", StringComparison.Ordinal).Replace("ø", "oe", StringComparison.Ordinal)
            .Replace("å", "aa", StringComparison.Ordinal).Replace("²", "2", StringComparison.Ordinal).Split('\n');
        for (var p = 0; p < 10; p++)
        {
            var page = pdfBuilder.AddPage(595, 842);
            for (var l = 0; l < lines.Length; l++)
            {
                page.AddText(lines[l], 8, new PdfPoint(30, 800 - (l * 10)), font);
            }
        }
        pdfBuilder.AddPage(595, 842).AddJpeg(ScanImage(2 * 1024 * 1024), new PdfRectangle(0, 0, 595, 842));
        var pdf = pdfBuilder.Build();
        PdfBytes = pdf.Length;
        Console.WriteLine($"// attached PDF: {pdf.Length} bytes, 11 pages");

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

        _bundle = ModelBundle.Load(BenchmarkData.DefaultModelPath);
        _policy = new RoutingPolicy([], _bundle);
        // A mail the default (English 20news) model routes by its attachment: a one-line body and a launch request form.
        const string form = "Launch request form. Mission: shuttle launch to the space station. Payload: satellite for orbit, "
            + "launch window after the countdown. The orbiter is on the pad; NASA asks when the rocket can lift off into orbit.";
        const string intro = "Please see the attached form.";
        _launchForm = new MailDocument
        {
            Id = "form@example.org",
            Fingerprint = new string('0', 64),
            Subject = "Form",
            Body = intro + "\n[bilag: form.pdf]\n" + form,
            AttachmentTextStart = intro.Length + 1,
            AttachmentTexts = [new AttachmentText { FileName = "form.pdf", MediaType = "application/pdf", Text = form }],
        };
        _launchFormInBody = _launchForm with { Body = intro + "\n" + form, AttachmentTextStart = null, AttachmentTexts = [] };
    }

    /// <summary>Releases the model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _bundle.Dispose();

    /// <summary>Raw bytes to decision for the mail with the 2 MB PDF: extraction with attachment text, then the policy.</summary>
    [Benchmark]
    public RoutingDecision Pipeline_Route_Pdf2MB() => _policy.Decide(_read.Extract(_raw));

    /// <summary>The policy on a mail the model routes by its attachment text: prediction plus the attachment-evidence explanation.</summary>
    [Benchmark]
    public RoutingDecision RoutingPolicy_Decide_AttachmentEvidence() => _policy.Decide(_launchForm);

    /// <summary>The same text in the body, no attachment section: prediction only (no explanation is computed).</summary>
    [Benchmark]
    public RoutingDecision RoutingPolicy_Decide_SameTextInBody() => _policy.Decide(_launchFormInBody);

    // A JPEG as far as PdfPig reads one (start of image, a baseline frame header with the size), then incompressible
    // bytes standing in for the scan: text extraction never decodes images, so only the bytes matter.
    private static byte[] ScanImage(int bytes)
    {
        var jpeg = new byte[bytes];
        new Random(1).NextBytes(jpeg);
        for (var i = 0; i < jpeg.Length; i++)
        {
            jpeg[i] = jpeg[i] == 0xFF ? (byte)0xFE : jpeg[i];
        }
        byte[] header = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x0D, 0xB0, 0x09, 0xB0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01];
        header.CopyTo(jpeg, 0);
        jpeg[^2] = 0xFF;
        jpeg[^1] = 0xD9;
        return jpeg;
    }

    /// <summary>Extraction with attachment text read (the default).</summary>
    [Benchmark]
    public MailDocument MailExtractor_Extract_Pdf2MB() => _read.Extract(_raw);

    /// <summary>Extraction with <see cref="ExtractionOptions.ReadAttachments"/> off: MIME parse and fingerprint only.</summary>
    [Benchmark(Baseline = true)]
    public MailDocument MailExtractor_Extract_Pdf2MB_AttachmentsOff() => _off.Extract(_raw);
}
