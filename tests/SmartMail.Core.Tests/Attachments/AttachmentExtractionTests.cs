using System.Text;
using SmartMail.Core.Attachments;
using SmartMail.Core.Mime;
using SmartMail.Core.Privacy;
using static SmartMail.Core.Tests.Attachments.AttachmentFiles;

namespace SmartMail.Core.Tests.Attachments;

/// <summary>Attachment text from real files (LibreOffice, qpdf) and hostile ones made at test time, read or skipped within the bounds.</summary>
public sealed class AttachmentExtractionTests
{
    // The time budget is tested on its own with a stepping clock; elsewhere the clock stands still, so a loaded machine
    // cannot turn a read into a skip.
    private static readonly MailExtractor Extractor = Make(new ExtractionOptions());

    private static MailExtractor Make(ExtractionOptions options) => new(options, new SteppingClock(TimeSpan.Zero));

    [Theory]
    [InlineData("ansoegning-boligstoette.pdf", "application/pdf", AttachmentKind.Pdf)]
    [InlineData("ansoegning-boligstoette.docx", DocxType, AttachmentKind.Docx)]
    [InlineData("ansoegning-boligstoette.odt", OdtType, AttachmentKind.Odt)]
    public void Extract_LibreOfficeForm_AppendsItsDanishTextAfterTheBody(string file, string mediaType, AttachmentKind kind)
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", (file, mediaType, Load(file)));

        var document = Extractor.Extract(raw);

        var read = Assert.Single(document.AttachmentTexts);
        Assert.Null(read.Skipped);
        Assert.Equal(kind, read.Kind);
        Assert.Equal(file, read.FileName);
        Assert.Contains("Ansøgning om boligstøtte", read.Text, StringComparison.Ordinal);
        Assert.Contains("Søndergade 14", read.Text, StringComparison.Ordinal);
        Assert.Contains("sosu-hjælper i hjemmeplejen", read.Text, StringComparison.Ordinal);
        Assert.StartsWith("Se vedhæftede.", document.Body, StringComparison.Ordinal);
        Assert.Equal("Se vedhæftede.".Length, document.AttachmentTextStart);
        Assert.Contains($"[bilag: {file.Replace('_', ' ')}]", document.Body[document.AttachmentTextStart!.Value..], StringComparison.Ordinal);
        Assert.Contains("Mølgaard", document.Body[document.AttachmentTextStart.Value..], StringComparison.Ordinal);
        Assert.Equal(kind == AttachmentKind.Pdf ? 1 : 0, read.Pages);
    }

    [Fact]
    public void WarmUp_ReadsItsOwnPdf_AndNotWhenReadingIsOff()
    {
        Assert.True(Make(new ExtractionOptions()).WarmUp());
        Assert.False(Make(new ExtractionOptions { ReadAttachments = false }).WarmUp());
    }

    [Fact]
    public void Extract_ReadAttachmentsOff_KeepsOnlyTheBody()
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", ("ansoegning.pdf", "application/pdf", Load("ansoegning-boligstoette.pdf")));

        var document = Make(new ExtractionOptions { ReadAttachments = false }).Extract(raw);

        Assert.Equal("Se vedhæftede.", document.Body);
        Assert.Empty(document.AttachmentTexts);
        Assert.Null(document.AttachmentTextStart);
        Assert.Single(document.Attachments);
    }

    [Fact]
    public void Extract_EveryFixtureWithoutReadableAttachments_BodyIsTheSameAsWithReadingOff()
    {
        // The model sees exactly today's text for mail without attachments: same body, so the same features.
        var off = Make(new ExtractionOptions { ReadAttachments = false });
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "eml"));
        var compared = 0;
        foreach (var file in files)
        {
            var raw = File.ReadAllBytes(file);
            var without = off.Extract(raw);
            if (without.AttachmentCount > 0)
            {
                continue;
            }
            var with = Extractor.Extract(raw);
            Assert.Equal(without.Body, with.Body);
            Assert.Null(with.AttachmentTextStart);
            compared++;
        }
        Assert.True(compared >= 5, $"only {compared} fixtures without attachments");
    }

    [Fact]
    public void Extract_AttachmentFileNames_GoIntoTheText()
    {
        var raw = Mail("Billeder", "Hej.", ("skade_paa_taget.jpg", "image/jpeg", [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]));

        var document = Extractor.Extract(raw);

        Assert.Empty(document.AttachmentTexts);
        Assert.Equal("Hej.\n\n[bilag: skade paa taget.jpg]", document.Body);
    }

    [Fact]
    public void Extract_EncryptedPdf_IsSkippedAsEncrypted()
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", ("krypteret.pdf", "application/pdf", Load("krypteret.pdf")));

        var document = Extractor.Extract(raw);

        var read = Assert.Single(document.AttachmentTexts);
        Assert.Equal("encrypted", read.Skipped);
        Assert.Null(read.Text);
        Assert.DoesNotContain("Søndergade", document.Body, StringComparison.Ordinal);
        Assert.EndsWith("[bilag: krypteret.pdf]", document.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_TruncatedPdf_IsSkippedAsBroken()
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", ("afbrudt.pdf", "application/pdf", Load("afbrudt.pdf")));

        var document = Extractor.Extract(raw);

        var read = Assert.Single(document.AttachmentTexts);
        Assert.NotNull(read.Skipped);
        Assert.StartsWith("broken PDF", read.Skipped, StringComparison.Ordinal);
        Assert.Equal(5000, read.Bytes);
    }

    [Fact]
    public void Extract_NotAPdfAtAll_IsSkippedWithoutParsing()
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", ("falsk.pdf", "application/pdf", Encoding.ASCII.GetBytes("MZ this is an executable, not a PDF")));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.Equal("not a PDF (no %PDF header)", read.Skipped);
    }

    [Fact]
    public void Extract_ManyPagePdf_ReadsOnlyThePageBound()
    {
        var extractor = Make(new ExtractionOptions { MaxAttachmentPages = 10, MaxAttachmentTextLength = 1_000_000 });
        var raw = Mail("Bilag", "Hermed bilag.", ("mange-sider.pdf", "application/pdf", Load("mange-sider.pdf")));

        var read = Assert.Single(extractor.Extract(raw).AttachmentTexts);

        Assert.Null(read.Skipped);
        Assert.Equal(10, read.Pages);
        Assert.Equal(49, read.TotalPages);
        Assert.Equal("pages", read.Truncated);
        Assert.Contains("Linje 1: bilag", read.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Linje 3000:", read.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_ManyPagePdf_TextIsCutAtTheCharacterBound()
    {
        var extractor = Make(new ExtractionOptions { MaxAttachmentTextLength = 1_000 });
        var raw = Mail("Bilag", "Hermed bilag.", ("mange-sider.pdf", "application/pdf", Load("mange-sider.pdf")));

        var read = Assert.Single(extractor.Extract(raw).AttachmentTexts);

        Assert.Equal("characters", read.Truncated);
        Assert.True(read.Text!.Length <= 1_000, $"{read.Text.Length} characters");
        Assert.Equal(1, read.Pages);
    }

    [Fact]
    public void Extract_HugePdf_IsSkippedAfterDecodingOnlyUpToTheByteBound()
    {
        // A real PDF grown past the bound with a 3 MB trailing comment (as a scanner's padding or an appended update would).
        var huge = Load("mange-sider.pdf").Concat("\n%"u8.ToArray()).Concat(Enumerable.Repeat((byte)'x', 3 * 1024 * 1024)).Concat("\n%%EOF\n"u8.ToArray()).ToArray();
        var options = new ExtractionOptions { MaxAttachmentBytes = 1024 * 1024 };
        Assert.True(huge.Length > 3 * options.MaxAttachmentBytes, $"the generated PDF is only {huge.Length} bytes");
        var raw = Mail("Stor fil", "Se vedhæftede.", ("stor.pdf", "application/pdf", huge));

        var read = Assert.Single(Make(options).Extract(raw).AttachmentTexts);

        Assert.Equal($"too large (over {options.MaxAttachmentBytes} bytes)", read.Skipped);
        Assert.Equal(options.MaxAttachmentBytes, read.Bytes);
    }

    [Fact]
    public void Extract_GeneratedPdf_IsRead()
    {
        var pdf = Pdf(3, 5, (p, l) => $"Side {p + 1} linje {l + 1} om ejendomsskat");
        var raw = Mail("Skat", "Se vedhæftede.", ("skat.pdf", "application/pdf", pdf));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.Null(read.Skipped);
        Assert.Equal(3, read.Pages);
        Assert.Contains("Side 3 linje 5 om ejendomsskat", read.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_SecondAttachmentPastTheMailByteBound_IsSkipped()
    {
        var pdf = Load("ansoegning-boligstoette.pdf");
        var options = new ExtractionOptions { MaxAttachmentBytesPerMail = pdf.Length + 1_000 };
        var raw = Mail("To", "Se vedhæftede.", ("en.pdf", "application/pdf", pdf), ("to.pdf", "application/pdf", pdf));

        var texts = Make(options).Extract(raw).AttachmentTexts;

        Assert.Equal(2, texts.Count);
        Assert.Null(texts[0].Skipped);
        Assert.Equal("attachment bytes for the mail spent", texts[1].Skipped);
        Assert.True(texts[0].Bytes + texts[1].Bytes <= options.MaxAttachmentBytesPerMail);
    }

    [Fact]
    public void Extract_ZipBombDocx_IsRefusedBeforeInflating()
    {
        var bomb = ZipBombDocx(64);
        Assert.True(bomb.Length < 1024 * 1024, $"the bomb is {bomb.Length} bytes");
        var raw = Mail("Bombe", "Se vedhæftede.", ("bombe.docx", DocxType, bomb));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.NotNull(read.Skipped);
        Assert.StartsWith("zip bomb", read.Skipped, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_ZipBombDocxUnderTheSizeBound_IsRefusedForItsRatio()
    {
        var bomb = ZipBombDocx(8);
        var raw = Mail("Bombe", "Se vedhæftede.", ("bombe.docx", DocxType, bomb));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.Equal("zip bomb: compression ratio over 100", read.Skipped);
    }

    [Fact]
    public void Extract_ZipWithTooManyEntries_IsRefused()
    {
        var odt = Load("ansoegning-boligstoette.odt");
        var extra = Enumerable.Range(0, 50).ToDictionary(i => $"junk/{i}.txt", _ => new byte[] { 1 });
        var options = new ExtractionOptions { MaxZipEntries = 40 };
        var raw = Mail("Mange", "Se vedhæftede.", ("mange.odt", OdtType, Rezip(odt, extra)));

        var read = Assert.Single(Make(options).Extract(raw).AttachmentTexts);

        Assert.Equal("zip bomb: more than 40 entries", read.Skipped);
    }

    [Fact]
    public void Extract_DocxWithExternalEntity_IsSkippedAndTheEntityIsNeverResolved()
    {
        var secret = Path.Combine(Path.GetTempPath(), $"smartmail-xxe-{Guid.NewGuid():N}.txt");
        File.WriteAllText(secret, "HEMMELIGT-INDHOLD");
        try
        {
            var docx = Load("ansoegning-boligstoette.docx");
            var xml = Entry(docx, "word/document.xml");
            var evil = xml.Replace("<w:document", $"<!DOCTYPE w:document [<!ENTITY xxe SYSTEM \"file://{secret}\">]><w:document", StringComparison.Ordinal)
                .Replace("Søndergade", "&xxe; Søndergade", StringComparison.Ordinal);
            Assert.Contains("&xxe;", evil, StringComparison.Ordinal);
            var raw = Mail("XXE", "Se vedhæftede.", ("xxe.docx", DocxType, Rezip(docx, new Dictionary<string, byte[]> { ["word/document.xml"] = Encoding.UTF8.GetBytes(evil) })));

            var document = Extractor.Extract(raw);

            var read = Assert.Single(document.AttachmentTexts);
            Assert.NotNull(read.Skipped);
            Assert.StartsWith("broken DOCX", read.Skipped, StringComparison.Ordinal);
            Assert.DoesNotContain("HEMMELIGT", document.Body, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void Extract_OdtWithExternalEntity_IsSkippedAndTheEntityIsNeverResolved()
    {
        var secret = Path.Combine(Path.GetTempPath(), $"smartmail-xxe-{Guid.NewGuid():N}.txt");
        File.WriteAllText(secret, "HEMMELIGT-INDHOLD");
        try
        {
            var odt = Load("ansoegning-boligstoette.odt");
            var xml = Entry(odt, "content.xml");
            var evil = xml.Replace("<office:document-content", $"<!DOCTYPE office:document-content [<!ENTITY xxe SYSTEM \"file://{secret}\">]><office:document-content", StringComparison.Ordinal)
                .Replace("Søndergade", "&xxe; Søndergade", StringComparison.Ordinal);
            Assert.Contains("&xxe;", evil, StringComparison.Ordinal);
            var raw = Mail("XXE", "Se vedhæftede.", ("xxe.odt", OdtType, Rezip(odt, new Dictionary<string, byte[]> { ["content.xml"] = Encoding.UTF8.GetBytes(evil) })));

            var document = Extractor.Extract(raw);

            var read = Assert.Single(document.AttachmentTexts);
            Assert.NotNull(read.Skipped);
            Assert.StartsWith("broken ODT", read.Skipped, StringComparison.Ordinal);
            Assert.DoesNotContain("HEMMELIGT", document.Body, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void Extract_MacroEnabledDocm_ReadsTheTextAndLeavesTheMacrosAlone()
    {
        var docx = Load("ansoegning-boligstoette.docx");
        var types = Entry(docx, "[Content_Types].xml").Replace(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            "application/vnd.ms-word.document.macroEnabled.main+xml", StringComparison.Ordinal);
        Assert.Contains("macroEnabled", types, StringComparison.Ordinal);
        var docm = Rezip(docx, new Dictionary<string, byte[]>
        {
            ["[Content_Types].xml"] = Encoding.UTF8.GetBytes(types),
            ["word/vbaProject.bin"] = Encoding.ASCII.GetBytes("Attribute VB_Name = \"ThisDocument\"\nSub AutoOpen()\nShell \"calc\"\nEnd Sub"),
        });
        var raw = Mail("Makro", "Se vedhæftede.", ("makro.docm", DocmType, docm));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.Null(read.Skipped);
        Assert.Equal(AttachmentKind.Docx, read.Kind);
        Assert.Contains("Ansøgning om boligstøtte", read.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("AutoOpen", read.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_OctetStreamWithDocxName_IsReadByItsExtension()
    {
        var raw = Mail("Ansøgning", "Hermed ansøgning", ("ansoegning.docx", "application/octet-stream", Load("ansoegning-boligstoette.docx")));

        var read = Assert.Single(Extractor.Extract(raw).AttachmentTexts);

        Assert.Equal(AttachmentKind.Docx, read.Kind);
        Assert.Null(read.Skipped);
    }

    [Fact]
    public void Extract_AttachmentOverTheTimeBudget_IsSkippedWithItsReason()
    {
        // A clock that moves 100 ms every time it is read: the 49 pages cannot be read within 500 ms.
        var extractor = new MailExtractor(new ExtractionOptions { AttachmentTimeBudgetMs = 500 }, new SteppingClock(TimeSpan.FromMilliseconds(100)));
        var raw = Mail("Bilag", "Hermed bilag.", ("mange-sider.pdf", "application/pdf", Load("mange-sider.pdf")));

        var read = Assert.Single(extractor.Extract(raw).AttachmentTexts);

        Assert.Equal("time budget of 500 ms spent", read.Skipped);
        Assert.Null(read.Text);
        Assert.True(read.Elapsed > TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void Extract_CprInAttachment_IsRedactedLikeBodyText()
    {
        var raw = Mail("Ansøgning", "Se vedhæftede.", ("ansoegning.pdf", "application/pdf", Load("ansoegning-boligstoette.pdf")));

        var document = Extractor.Extract(raw);

        Assert.True(Cpr.ContainsAny(document.Body));
        var redacted = Redactor.Redact(document.Body);
        Assert.False(Cpr.ContainsAny(redacted));
        Assert.DoesNotContain("010203", redacted, StringComparison.Ordinal);
        Assert.Contains("Søndergade", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_AttachmentText_StaysWithinMaxTextLength()
    {
        var options = new ExtractionOptions { MaxTextLength = 600 };
        var raw = Mail("Bilag", "Hermed bilag.", ("mange-sider.pdf", "application/pdf", Load("mange-sider.pdf")));

        var document = Make(options).Extract(raw);

        Assert.Equal(600, document.Body.Length);
        Assert.True(document.LimitsHit.HasFlag(ExtractionLimits.AttachmentText));
    }

    [Fact]
    public void AttachmentTerms_Find_NamesOnlyTermsFromTheAttachmentSection()
    {
        var raw = Mail("Ansøgning om hjælp", "Se vedhæftede.", ("ansoegning.odt", OdtType, Load("ansoegning-boligstoette.odt")));
        var document = Extractor.Extract(raw);

        var found = AttachmentTerms.Find(document, ["boligstøtte", "om boligstøtte", "vedhæftede", "ansoegning", "hjælp", "ejendomsskat"]);

        Assert.Equal(["ansoegning", "boligstøtte", "om boligstøtte"], found.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AttachmentTerms_Find_MailWithoutAttachments_FindsNothing()
    {
        var raw = Mail("Boligstøtte", "Jeg søger om boligstøtte.");

        Assert.Empty(AttachmentTerms.Find(Extractor.Extract(raw), ["boligstøtte"]));
    }

    /// <summary>A clock that moves <paramref name="step"/> each time it is read.</summary>
    internal sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _now, step.Ticks);
    }
}
