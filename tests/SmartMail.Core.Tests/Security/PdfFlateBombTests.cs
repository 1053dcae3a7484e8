using System.Globalization;
using System.IO.Compression;
using System.Text;
using SmartMail.Core.Mime;
using static SmartMail.Core.Tests.Attachments.AttachmentFiles;

namespace SmartMail.Core.Tests.Security;

/// <summary>
/// Issue 24, finding 12: <c>MaxAttachmentBytes</c> bounds a PDF's encoded size, not what its streams inflate to, and the
/// time budget was checked only between pages. A PDF just under 10 MiB whose one page is a Flate stream at ~1000:1
/// (10 GiB of spaces, built here) must be skipped after a bounded amount of work, whatever PdfPig would do with it.
/// </summary>
public sealed class PdfFlateBombTests
{
    // Just under the default MaxAttachmentBytes (10 MiB), so the encoded-size bound lets it through.
    private const int BombBytes = (10 * 1024 * 1024) - (64 * 1024);

    [Fact]
    public void Extract_PdfWithAFlateBomb_IsSkippedAfterBoundedWork()
    {
        var raw = Mail("Bilag", "Se vedhæftede.", ("bilag.pdf", "application/pdf", BombPdf(BombBytes)));
        // A clock that stands still: the byte bound decides, not how busy the machine is.
        var extractor = new MailExtractor(new ExtractionOptions(), new Attachments.AttachmentExtractionTests.SteppingClock(TimeSpan.Zero));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var document = extractor.Extract(raw);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var read = Assert.Single(document.AttachmentTexts);
        Assert.Contains("inflate", read.Skipped ?? "(read)", StringComparison.Ordinal);
        // The mail (14 MB of base64) and the 10 MiB attachment are decoded once or twice; 10 GiB of spaces are not.
        Assert.True(allocated < 512L * 1024 * 1024, $"{allocated / (1024 * 1024)} MiB allocated");
    }

    [Fact]
    public void Extract_PdfWithAFlateBomb_UnderNoByteCap_StopsAtTheTimeBudgetInsideThePage()
    {
        var raw = Mail("Bilag", "Se vedhæftede.", ("bilag.pdf", "application/pdf", BombPdf(BombBytes)));
        // A clock that moves 10 ms each time it is read: the 2,000 ms budget runs out after ~200 looks, one per 64 KiB inflated.
        var extractor = new MailExtractor(new ExtractionOptions { MaxPdfStreamBytes = int.MaxValue },
            new Attachments.AttachmentExtractionTests.SteppingClock(TimeSpan.FromMilliseconds(10)));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var document = extractor.Extract(raw);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var read = Assert.Single(document.AttachmentTexts);
        Assert.Equal("time budget of 2000 ms spent", read.Skipped);
        Assert.True(allocated < 512L * 1024 * 1024, $"{allocated / (1024 * 1024)} MiB allocated");
    }

    /// <summary>A one-page PDF whose content stream is <paramref name="compressedBytes"/> of zlib data inflating ~1000:1 to spaces.</summary>
    internal static byte[] BombPdf(int compressedBytes)
    {
        var stream = FlateBomb(compressedBytes);
        using var pdf = new MemoryStream();
        var offsets = new List<long>();
        void Write(string s) => pdf.Write(Encoding.ASCII.GetBytes(s));
        void Object(string body)
        {
            offsets.Add(pdf.Position);
            Write(body);
        }
        Write("%PDF-1.4\n");
        Object("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
        Object("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
        Object("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>\nendobj\n");
        Object(string.Create(CultureInfo.InvariantCulture, $"4 0 obj\n<< /Length {stream.Length} /Filter /FlateDecode >>\nstream\n"));
        pdf.Write(stream);
        Write("\nendstream\nendobj\n");
        var xref = pdf.Position;
        Write(string.Create(CultureInfo.InvariantCulture, $"xref\n0 {offsets.Count + 1}\n0000000000 65535 f \n"));
        foreach (var offset in offsets)
        {
            Write(string.Create(CultureInfo.InvariantCulture, $"{offset:D10} 00000 n \n"));
        }
        Write(string.Create(CultureInfo.InvariantCulture, $"trailer\n<< /Size {offsets.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"));
        return pdf.ToArray();
    }

    // zlib of spaces without compressing gigabytes: once the window holds only spaces, every further MiB of spaces
    // compresses (with a sync flush after it) to the same bytes, so that block is repeated.
    private static byte[] FlateBomb(int size)
    {
        var mib = new byte[1024 * 1024];
        Array.Fill(mib, (byte)' ');
        using var output = new MemoryStream();
        using var deflate = new DeflateStream(output, CompressionLevel.SmallestSize, leaveOpen: true);
        deflate.Write(mib);
        deflate.Flush();
        var first = output.Length;
        deflate.Write(mib);
        deflate.Flush();
        var unit = output.ToArray()[(int)first..];
        using var bomb = new MemoryStream();
        bomb.Write([0x78, 0xDA]); // zlib header (best compression); the checksum at the end is never reached
        bomb.Write(output.ToArray().AsSpan(0, (int)first));
        while (bomb.Length + unit.Length <= size)
        {
            bomb.Write(unit);
        }
        return bomb.ToArray();
    }
}
